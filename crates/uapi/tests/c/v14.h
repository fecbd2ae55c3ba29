/*
 * ABI v14 (13 May 2026, on v7.1-rc1): KVM_CAP_ARM_RMI 249, realm VM type bit 30 next to pKVM's bit 31,
 * no PSCI_COMPLETE ioctl.
 */
#ifndef REALMKIT_V14_H
#define REALMKIT_V14_H /* fixture-helper */
#include "arm64.h"

#define KVM_CAP_ARM_RMI 249

struct kvm_arm_rmi_populate {
	__u64 base;
	__u64 size;
	__u64 source_uaddr;
	__u32 flags;
	__u32 reserved;
};

#define KVM_ARM_RMI_POPULATE_FLAGS_MEASURE	(1 << 0)

#define KVM_ARM_RMI_POPULATE	_IOWR(KVMIO, 0xd7, struct kvm_arm_rmi_populate)

#define KVM_VM_TYPE_ARM_NORMAL		0
#define KVM_VM_TYPE_ARM_REALM		(1UL << 30)
#define KVM_VM_TYPE_ARM_PROTECTED	(1UL << 31)
#define KVM_VM_TYPE_ARM_MASK		(KVM_VM_TYPE_ARM_IPA_SIZE_MASK | \
					 KVM_VM_TYPE_ARM_PROTECTED | KVM_VM_TYPE_ARM_REALM)

#endif
