/*
 * ABI v13 (18 Mar 2026, on v7.0-rc1): as v12 but KVM_CAP_ARM_RMI 248 and an in/out (_IOWR) populate.
 */
#ifndef REALMKIT_V13_H
#define REALMKIT_V13_H /* fixture-helper */
#include "arm64.h"

#define KVM_CAP_ARM_RMI 248

/* machine type bits [11:8], unchanged */
#define KVM_VM_TYPE_ARM_SHIFT		8
#define KVM_VM_TYPE_ARM_MASK		(0xfULL << KVM_VM_TYPE_ARM_SHIFT)
#define KVM_VM_TYPE_ARM(_type)		\
	(((_type) << KVM_VM_TYPE_ARM_SHIFT) & KVM_VM_TYPE_ARM_MASK)
#define KVM_VM_TYPE_ARM_NORMAL		KVM_VM_TYPE_ARM(0)
#define KVM_VM_TYPE_ARM_REALM		KVM_VM_TYPE_ARM(1)

/* Available with KVM_CAP_ARM_RMI, only for VMs with KVM_VM_TYPE_ARM_REALM */
struct kvm_arm_rmi_psci_complete {
	__u64 target_mpidr;
	__u32 psci_status;
	__u32 padding[3];
};

#define KVM_ARM_VCPU_RMI_PSCI_COMPLETE	_IOW(KVMIO, 0xd6, struct kvm_arm_rmi_psci_complete)

struct kvm_arm_rmi_populate {
	__u64 base;
	__u64 size;
	__u64 source_uaddr;
	__u32 flags;
	__u32 reserved;
};

#define KVM_ARM_RMI_POPULATE_FLAGS_MEASURE	(1 << 0)

#define KVM_ARM_RMI_POPULATE	_IOWR(KVMIO, 0xd7, struct kvm_arm_rmi_populate)

#endif
