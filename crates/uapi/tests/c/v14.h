/*
 * ABI v14 (13 May 2026, on v7.1-rc1): patch 13/44 "arm64: RMI: Define the user ABI" and 16/44 "KVM: arm64:
 * Allow passing machine type in KVM creation" (include/uapi/linux/kvm.h), on top of the generic arm64 pieces.
 */
#ifndef REALMKIT_V14_H
#define REALMKIT_V14_H /* fixture-helper */
#include "arm64.h"

#define KVM_VM_TYPE_ARM_NORMAL		0
#define KVM_VM_TYPE_ARM_REALM		(1UL << 30)
#define KVM_VM_TYPE_ARM_PROTECTED	(1UL << 31)
#define KVM_VM_TYPE_ARM_MASK		(KVM_VM_TYPE_ARM_IPA_SIZE_MASK | \
					 KVM_VM_TYPE_ARM_PROTECTED | \
					 KVM_VM_TYPE_ARM_REALM)

#define KVM_CAP_ARM_RMI 249

/* Available with KVM_CAP_ARM_RMI, only for VMs with KVM_VM_TYPE_ARM_REALM */
#define KVM_ARM_RMI_POPULATE	_IOWR(KVMIO, 0xd7, struct kvm_arm_rmi_populate)
#define KVM_ARM_RMI_POPULATE_FLAGS_MEASURE	(1 << 0)

struct kvm_arm_rmi_populate {
	__u64 base;
	__u64 size;
	__u64 source_uaddr;
	__u32 flags;
	__u32 reserved;
};

#endif
