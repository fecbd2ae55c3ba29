/*
 * ABI v10: patch 06/43 <20250820145606.180644-7-steven.price@arm.com> (20 Aug 2025) and the machine type of
 * 09/43, on top of the generic arm64 pieces.
 */
#ifndef REALMKIT_V10_H
#define REALMKIT_V10_H /* fixture-helper */
#include "arm64.h"

/* include/uapi/linux/kvm.h */
#define KVM_CAP_ARM_RME 244

/* machine type bits [11:8] (09/43) */
#define KVM_VM_TYPE_ARM_SHIFT		8
#define KVM_VM_TYPE_ARM_MASK		(0xfULL << KVM_VM_TYPE_ARM_SHIFT)
#define KVM_VM_TYPE_ARM(_type)		\
	(((_type) << KVM_VM_TYPE_ARM_SHIFT) & KVM_VM_TYPE_ARM_MASK)
#define KVM_VM_TYPE_ARM_NORMAL		KVM_VM_TYPE_ARM(0)
#define KVM_VM_TYPE_ARM_REALM		KVM_VM_TYPE_ARM(1)

/* arch/arm64/include/uapi/asm/kvm.h */
#define KVM_ARM_VCPU_REC		9 /* VCPU REC state as part of Realm */

/* KVM_CAP_ARM_RME on VM fd */
#define KVM_CAP_ARM_RME_CONFIG_REALM		0
#define KVM_CAP_ARM_RME_CREATE_REALM		1
#define KVM_CAP_ARM_RME_INIT_RIPAS_REALM	2
#define KVM_CAP_ARM_RME_POPULATE_REALM		3
#define KVM_CAP_ARM_RME_ACTIVATE_REALM		4

/* List of configuration items accepted for KVM_CAP_ARM_RME_CONFIG_REALM */
#define ARM_RME_CONFIG_RPV			0
#define ARM_RME_CONFIG_HASH_ALGO		1

#define ARM_RME_CONFIG_HASH_ALGO_SHA256		0
#define ARM_RME_CONFIG_HASH_ALGO_SHA512		1

#define ARM_RME_CONFIG_RPV_SIZE 64

struct arm_rme_config {
	__u32 cfg;
	union {
		/* cfg == ARM_RME_CONFIG_RPV */
		struct {
			__u8	rpv[ARM_RME_CONFIG_RPV_SIZE];
		};

		/* cfg == ARM_RME_CONFIG_HASH_ALGO */
		struct {
			__u32	hash_algo;
		};

		/* Fix the size of the union */
		__u8	reserved[256];
	};
};

#define KVM_ARM_RME_POPULATE_FLAGS_MEASURE	(1 << 0)
struct arm_rme_populate_realm {
	__u64 base;
	__u64 size;
	__u32 flags;
	__u32 reserved[3];
};

struct arm_rme_init_ripas {
	__u64 base;
	__u64 size;
	__u64 reserved[2];
};

/* include/uapi/linux/kvm.h */
/* Available with KVM_CAP_ARM_RME, only for VMs with KVM_VM_TYPE_ARM_REALM */
struct kvm_arm_rmm_psci_complete {
	__u64 target_mpidr;
	__u32 psci_status;
	__u32 padding[3];
};

#define KVM_ARM_VCPU_RMM_PSCI_COMPLETE	_IOW(KVMIO, 0xd6, struct kvm_arm_rmm_psci_complete)

#endif
