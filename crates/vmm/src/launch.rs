//! `launch`: build a plan on a backend, activate the realm, and run its vCPUs until it stops, handling their
//! exits ([`crate::exits`]). Building goes through [`crate::build::realm`], the path `measure` takes.
#![forbid(unsafe_code)]

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use realm_rmi::psci::{PSCI_CPU_ON_32, PSCI_CPU_ON_64, PSCI_RETURN_DENIED, PSCI_RETURN_SUCCESS};
use realm_uapi::arm64 as k;
use realm_uapi::{v10, v12};
use serde::Serialize;
use zerocopy::IntoBytes;

use crate::backend::{BackendError, Extension, Ioctl, IoctlArg, KvmBackend, Measured};
use crate::build::{self, BuildStats, Built, Progress};
use crate::config::AbiRevision;
use crate::exits::{self, ExitAction, ExitStatus, Message, Uart};
use crate::prepare::Prepared;
use crate::run_stats::{RunSummary, exit_name};

/// How many exits of each vCPU the report keeps in order (the counts by kind go on).
pub const MAX_SEQUENCE: usize = 10_000;

/// PSCI `DENIED` (-3) and `SUCCESS` (0) as the `psci_status` of PSCI_COMPLETE (realm-rmi's
/// `PSCI_RETURN_DENIED` / `PSCI_RETURN_SUCCESS` as the kernel's signed 32-bit field).
const PSCI_DENIED: i32 = -3;
const PSCI_SUCCESS: i32 = 0;
const _: () = assert!(PSCI_DENIED as i64 == PSCI_RETURN_DENIED.cast_signed());
const _: () = assert!(PSCI_SUCCESS as u64 == PSCI_RETURN_SUCCESS);

/// A failed `launch`.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Building the realm failed.
    #[error("building the realm on the {backend} backend")]
    Build {
        /// Backend name.
        backend: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// Running the realm failed.
    #[error("running vCPU {vcpu}")]
    Run {
        /// vCPU.
        vcpu: u32,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// An exit the VMM cannot handle.
    #[error("vCPU {vcpu} stopped on an unhandled exit: {what}")]
    Unhandled {
        /// vCPU.
        vcpu: u32,
        /// The exit.
        what: String,
    },
}

/// How a launch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LaunchOutcome {
    /// The realm is active; the simulated platform has no AArch64 execution yet, so nothing runs.
    ActivatedNoCode,
    /// The realm stopped.
    Stopped(ExitStatus),
}

/// What `launch` did.
#[derive(Clone, Debug, Serialize)]
pub struct LaunchReport {
    /// Backend name.
    pub backend: &'static str,
    /// The measurements, when the backend can read them.
    pub measured: Option<Measured>,
    /// The RIM extensions, when the backend can read them.
    #[serde(skip)]
    pub extensions: Option<Vec<Extension>>,
    /// Figures.
    pub stats: BuildStats,
    /// How it ended.
    pub outcome: LaunchOutcome,
    /// What the run did (when the realm ran).
    pub run: Option<RunSummary>,
    /// The messages the realm handed the VMM through the doorbell, in the order they came.
    #[serde(skip)]
    pub messages: Vec<Message>,
}

/// Build `prepared` on `backend`, activate it, and run vCPU 0 until the realm stops, with the guest's UART
/// output going to `console`. The RIM extension log is read only when `explain`.
pub fn launch(
    backend: &dyn KvmBackend,
    prepared: &Prepared,
    console: &mut (dyn Write + Send),
    progress: &mut dyn Progress,
    explain: bool,
) -> Result<LaunchReport, LaunchError> {
    launch_until(backend, prepared, console, progress, explain, None)
}

/// [`launch`], stopping the realm's vCPUs ([`ExitStatus::TimedOut`]) when it has not stopped by itself within
/// `timeout` of running.
pub fn launch_until(
    backend: &dyn KvmBackend,
    prepared: &Prepared,
    console: &mut (dyn Write + Send),
    progress: &mut dyn Progress,
    explain: bool,
    timeout: Option<Duration>,
) -> Result<LaunchReport, LaunchError> {
    launch_interruptible(backend, prepared, console, progress, explain, timeout, None)
}

/// How often the watchdog looks at the interrupt flag.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);

/// [`launch_until`], also stopping the vCPUs ([`ExitStatus::Interrupted`]) within a few tens of milliseconds
/// of `interrupt` becoming true (a Ctrl-C handler's flag).
pub fn launch_interruptible(
    backend: &dyn KvmBackend,
    prepared: &Prepared,
    console: &mut (dyn Write + Send),
    progress: &mut dyn Progress,
    explain: bool,
    timeout: Option<Duration>,
    interrupt: Option<&AtomicBool>,
) -> Result<LaunchReport, LaunchError> {
    let opts = LaunchOptions {
        explain,
        timeout,
        interrupt,
        challenge: [0; 64],
    };
    launch_with(backend, prepared, console, progress, &opts)
}

/// How a launch runs beyond the realm itself.
#[derive(Clone, Copy, Debug)]
pub struct LaunchOptions<'a> {
    /// Read the RIM extension log.
    pub explain: bool,
    /// Stop the realm ([`ExitStatus::TimedOut`]) when it has not stopped by itself within this time.
    pub timeout: Option<Duration>,
    /// Stop the realm ([`ExitStatus::Interrupted`]) when this becomes true.
    pub interrupt: Option<&'a AtomicBool>,
    /// The attestation challenge the VMM hands a realm that asks for it through the doorbell
    /// ([`exits::MESSAGE_CHALLENGE`]).
    pub challenge: [u8; 64],
}

/// [`launch`] with every option.
pub fn launch_with(
    backend: &dyn KvmBackend,
    prepared: &Prepared,
    console: &mut (dyn Write + Send),
    progress: &mut dyn Progress,
    opts: &LaunchOptions<'_>,
) -> Result<LaunchReport, LaunchError> {
    let explain = opts.explain;
    let built = build::realm(backend, prepared, progress).map_err(|source| LaunchError::Build {
        backend: backend.name(),
        source,
    })?;
    let measured = built.measurements();
    let extensions = if explain {
        built.measurement_log()
    } else {
        None
    };
    let mut messages = Vec::new();
    let (outcome, summary) = if !backend.runs_guest_code() {
        // The simulated platform: the RECs exist and the realm is active, but its default CPU model executes no
        // guest code yet (a later issue); entering would only report an idle REC.
        (LaunchOutcome::ActivatedNoCode, None)
    } else {
        let start = Instant::now();
        let before = backend.instructions_retired();
        let (status, mut summary, got) = run(&built, prepared, console, opts)?;
        messages = got;
        summary.elapsed = start.elapsed();
        summary.instructions = backend
            .instructions_retired()
            .map(|n| n.saturating_sub(before.unwrap_or(0)));
        (LaunchOutcome::Stopped(status), Some(summary))
    };
    Ok(LaunchReport {
        backend: backend.name(),
        measured,
        extensions,
        stats: built.stats,
        outcome,
        run: summary,
        messages,
    })
}

type Console<'c> = Mutex<Uart<&'c mut (dyn Write + Send)>>;

/// Exits seen by one vCPU: in order (up to [`MAX_SEQUENCE`]) and by kind.
#[derive(Debug, Default)]
struct ExitLog {
    sequence: Vec<&'static str>,
    counts: std::collections::BTreeMap<&'static str, u64>,
}

impl ExitLog {
    fn record(&mut self, reason: u32) {
        let name = exit_name(reason);
        if self.sequence.len() < MAX_SEQUENCE {
            self.sequence.push(name);
        }
        *self.counts.entry(name).or_default() += 1;
    }
}

/// Run every vCPU on its own thread (secondaries wait powered off for PSCI CPU_ON, handled in the kernel) until
/// one of them stops the realm or fails; the others are then kicked out of `KVM_RUN`.
fn run(
    built: &Built<'_>,
    prepared: &Prepared,
    console: &mut (dyn Write + Send),
    opts: &LaunchOptions<'_>,
) -> Result<(ExitStatus, RunSummary, Vec<Message>), LaunchError> {
    let (timeout, interrupt) = (opts.timeout, opts.interrupt);
    let uart: Console<'_> = Mutex::new(Uart::new(prepared.map.uart, console));
    let messages: Mutex<Vec<Message>> = Mutex::default();
    let logs: Vec<Mutex<ExitLog>> = built.vcpus.iter().map(|_| Mutex::default()).collect();
    let result: Mutex<Option<Result<ExitStatus, LaunchError>>> = Mutex::new(None);
    let stopping = AtomicBool::new(false);
    std::thread::scope(|s| {
        // The watchdog sleeps until the deadline or until a vCPU ends the run (it is unparked then), so a
        // realm that powers off quickly is not kept waiting for the watchdog's next look.
        let watchdog = (timeout.is_some() || interrupt.is_some()).then(|| {
            let (result, stopping) = (&result, &stopping);
            s.spawn(move || {
                let deadline = timeout.map(|limit| Instant::now() + limit);
                while !stopping.load(Ordering::SeqCst) {
                    let now = Instant::now();
                    let why = if interrupt.is_some_and(|i| i.load(Ordering::SeqCst)) {
                        Some(ExitStatus::Interrupted)
                    } else if deadline.is_some_and(|d| now >= d) {
                        Some(ExitStatus::TimedOut)
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        result
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .get_or_insert(Ok(why));
                        stopping.store(true, Ordering::SeqCst);
                        for fd in &built.vcpus {
                            built.backend().kick(*fd);
                        }
                        return;
                    }
                    let mut nap = deadline.map_or(INTERRUPT_POLL, |d| d - now);
                    if interrupt.is_some() {
                        nap = nap.min(INTERRUPT_POLL);
                    }
                    std::thread::park_timeout(nap);
                }
            })
        });
        let watchdog = watchdog.as_ref().map(|h| h.thread().clone());
        for ((id, _), log) in (0u32..).zip(&built.vcpus).zip(&logs) {
            let (uart, result, stopping, messages) = (&uart, &result, &stopping, &messages);
            let challenge = &opts.challenge;
            let watchdog = watchdog.clone();
            s.spawn(move || {
                crate::os::precise_timers();
                let mut log = log
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let vcpu = Vcpu {
                    built,
                    prepared,
                    id,
                    uart,
                    messages,
                    challenge,
                };
                // A panic (a bug of ours) must stop the run with an error, not leave the others and the
                // watchdog waiting for a stop that never comes.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_vcpu(&vcpu, stopping, &mut log)
                }));
                let ran = ran.unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Some(Err(LaunchError::Unhandled {
                        vcpu: id,
                        what: format!("internal error: the vCPU thread panicked ({what})"),
                    }))
                });
                if let Some(r) = ran {
                    let mut slot = result
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    // KVM_EXIT_SHUTDOWN is what another vCPU sees when it races a SYSTEM_OFF (v12: RMI_ERROR_REALM
                    // index 1 on REC_ENTER); the system event itself says more.
                    let replace = match (&*slot, &r) {
                        (None, _) => true,
                        (Some(Ok(ExitStatus::Shutdown)), Ok(s)) => *s != ExitStatus::Shutdown,
                        _ => false,
                    };
                    if replace {
                        *slot = Some(r);
                    }
                    drop(slot);
                    stopping.store(true, Ordering::SeqCst);
                    for fd in &built.vcpus {
                        built.backend().kick(*fd);
                    }
                    if let Some(w) = &watchdog {
                        w.unpark();
                    }
                }
            });
        }
    });
    let r = result
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let status = r.unwrap_or(Err(LaunchError::Unhandled {
        vcpu: 0,
        what: "every vCPU stopped without a system event".into(),
    }))?;
    let mut summary = RunSummary::default();
    for log in logs {
        let log = log
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (kind, n) in log.counts {
            *summary.exits.entry(kind).or_default() += n;
        }
        summary.sequence.push(log.sequence);
    }
    let messages = messages
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok((status, summary, messages))
}

/// What one vCPU's thread works with.
struct Vcpu<'a, 'b, 'c> {
    built: &'a Built<'b>,
    prepared: &'a Prepared,
    id: u32,
    uart: &'a Console<'c>,
    messages: &'a Mutex<Vec<Message>>,
    challenge: &'a [u8; 64],
}

/// Read the [`Message`] at `ipa` (its unprotected alias; the shared bit is dropped) from the RAM slot holding
/// it, keep it, and answer an echo request in place. `Err` says why the message is unreadable.
fn answer_doorbell(v: &Vcpu<'_, '_, '_>, ipa: u64) -> Result<(), String> {
    let gpa = ipa & !(1u64 << (v.prepared.map.ipa_bits - 1));
    let be = v.built.backend();
    let (range, mem) = v
        .built
        .ram
        .iter()
        .find(|(r, _)| r.base <= gpa && gpa < r.end())
        .ok_or_else(|| format!("doorbell: message at {ipa:#x} is not in guest RAM"))?;
    let off = gpa - range.base;
    let mut header = [0u8; 8];
    let room = range.end() - gpa;
    if room < exits::MESSAGE_HEADER || !be.read_memory(mem, off, &mut header) {
        return Err(format!("doorbell: message header at {ipa:#x} unreadable"));
    }
    let kind = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > exits::MESSAGE_MAX || u64::from(len) > room - exits::MESSAGE_HEADER {
        return Err(format!(
            "doorbell: message at {ipa:#x} claims {len} bytes (at most {} fit)",
            exits::MESSAGE_MAX.min(u32::try_from(room - exits::MESSAGE_HEADER).unwrap_or(u32::MAX))
        ));
    }
    let mut data = vec![0u8; len as usize];
    if !be.read_memory(mem, off + exits::MESSAGE_HEADER, &mut data) {
        return Err(format!("doorbell: message body at {ipa:#x} unreadable"));
    }
    let answer = match kind {
        exits::MESSAGE_ECHO => {
            let mut reply = b"pong: ".to_vec();
            reply.extend_from_slice(&data);
            Some((exits::MESSAGE_REPLY, reply, true))
        }
        exits::MESSAGE_CHALLENGE => Some((
            exits::MESSAGE_CHALLENGE | exits::MESSAGE_ANSWER,
            v.challenge.to_vec(),
            false,
        )),
        _ => None,
    };
    if let Some((kind, mut body, nul)) = answer {
        let n = u32::try_from(body.len()).unwrap_or(u32::MAX);
        if nul {
            body.push(0);
        }
        let mut out = kind.to_le_bytes().to_vec();
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&body);
        if out.len() as u64 > room || !be.write_memory(mem, off, &out) {
            return Err(format!("doorbell: no room for the answer at {ipa:#x}"));
        }
    }
    v.messages
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Message {
            vcpu: v.id,
            kind,
            data,
        });
    Ok(())
}

/// The run loop of one vCPU: `Some` when it ends the realm (or fails), `None` when told to stop.
fn run_vcpu(
    v: &Vcpu<'_, '_, '_>,
    stopping: &AtomicBool,
    log: &mut ExitLog,
) -> Option<Result<ExitStatus, LaunchError>> {
    let (built, prepared, id, uart) = (v.built, v.prepared, v.id, v.uart);
    let be = built.backend();
    let vcpu = built.vcpus[id as usize];
    let err = |source| Some(Err(LaunchError::Run { vcpu: id, source }));
    let run = match be.run_area(vcpu) {
        Ok(r) => r,
        Err(source) => return err(source),
    };
    loop {
        if stopping.load(Ordering::SeqCst) {
            return None;
        }
        match be.ioctl(vcpu, k::KVM_RUN, IoctlArg::Val(0)) {
            Ok(_) | Err(crate::backend::Errno::EFAULT) => {}
            Err(crate::backend::Errno::EINTR) => continue,
            Err(e) => return err(BackendError::ioctl(Ioctl::Run, e)),
        }
        let mut action = ExitAction::Continue;
        // The UART stays locked until its interrupt level is in the GIC, so two vCPUs' accesses cannot
        // drive the line out of order.
        let mut u = uart
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        run.with(&mut |bytes| {
            if let Ok((r, _)) = zerocopy::FromBytes::read_from_prefix(&*bytes) {
                let r: k::kvm_run = r;
                log.record(r.exit_reason);
            }
            action = exits::handle(bytes, prepared.map.ipa_bits, &mut u);
        });
        if let Some(level) = u.take_line_change()
            && let Err(source) = irq_line(be, built.vm_fd, u.kvm_irq(), level)
        {
            return err(source);
        }
        drop(u);
        match action {
            ExitAction::Continue => {}
            ExitAction::Doorbell { ipa } => {
                if let Err(what) = answer_doorbell(v, ipa) {
                    return Some(Err(LaunchError::Unhandled { vcpu: id, what }));
                }
            }
            ExitAction::Stop(status) => return Some(Ok(status)),
            ExitAction::Unhandled(what) => {
                return Some(Err(LaunchError::Unhandled { vcpu: id, what }));
            }
            ExitAction::ConvertMemory { gpa, size, private } => {
                let mut attrs = k::kvm_memory_attributes {
                    address: gpa,
                    size,
                    attributes: if private {
                        u64::from(k::KVM_MEMORY_ATTRIBUTE_PRIVATE)
                    } else {
                        0
                    },
                    flags: 0,
                };
                if let Err(e) = be.ioctl(
                    built.vm_fd,
                    k::KVM_SET_MEMORY_ATTRIBUTES,
                    IoctlArg::Buf(attrs.as_mut_bytes()),
                ) {
                    return err(BackendError::ioctl(Ioctl::ConvertMemory { gpa, size }, e));
                }
            }
            ExitAction::PsciComplete {
                function,
                target_mpidr,
                ..
            } => {
                // PSCI forwarded to userspace: CPU_ON is refused (DENIED) because powering a vCPU on from
                // userspace (KVM_SET_MP_STATE) is not done here; AFFINITY_INFO succeeds and the RMM answers
                // ON/OFF from the target REC's state. (The kernel's in-kernel PSCI handles CPU_ON itself.)
                let cpu_on = [PSCI_CPU_ON_64, PSCI_CPU_ON_32].map(u64::from);
                let status = if cpu_on.contains(&function) {
                    PSCI_DENIED
                } else {
                    PSCI_SUCCESS
                };
                if let Err(source) = psci_complete(be, vcpu, target_mpidr, status) {
                    return err(source);
                }
            }
        }
    }
}

/// `KVM_IRQ_LINE(irq, level)` on the VM fd: a device's interrupt level into the in-kernel GIC.
fn irq_line(
    be: &dyn KvmBackend,
    vm_fd: crate::backend::Fd,
    irq: u32,
    level: bool,
) -> Result<(), BackendError> {
    let mut arg = k::kvm_irq_level {
        irq,
        level: u32::from(level),
    };
    be.ioctl(vm_fd, k::KVM_IRQ_LINE, IoctlArg::Buf(arg.as_mut_bytes()))
        .map_err(|e| BackendError::ioctl(Ioctl::IrqLine { irq, level }, e))?;
    Ok(())
}

fn psci_complete(
    be: &dyn KvmBackend,
    vcpu: crate::backend::Fd,
    target_mpidr: u64,
    status: i32,
) -> Result<(), BackendError> {
    let (request, mut bytes) = match be.abi() {
        AbiRevision::V12 => (
            v12::KVM_ARM_VCPU_RMI_PSCI_COMPLETE,
            v12::kvm_arm_rmi_psci_complete {
                target_mpidr,
                psci_status: status.cast_unsigned(),
                padding: [0; 3],
            }
            .as_bytes()
            .to_vec(),
        ),
        AbiRevision::V10 => (
            v10::KVM_ARM_VCPU_RMM_PSCI_COMPLETE,
            v10::kvm_arm_rmm_psci_complete {
                target_mpidr,
                psci_status: status.cast_unsigned(),
                padding: [0; 3],
            }
            .as_bytes()
            .to_vec(),
        ),
        rev @ (AbiRevision::V13 | AbiRevision::V14) => {
            return Err(BackendError::UnsupportedAbi(rev));
        }
    };
    be.ioctl(vcpu, request, IoctlArg::Buf(&mut bytes))
        .map_err(|e| {
            BackendError::ioctl(
                Ioctl::PsciComplete {
                    target_mpidr,
                    status,
                },
                e,
            )
        })?;
    Ok(())
}
