//! RMI_REC_ENTER, PSCI (realm side and RMI_PSCI_COMPLETE), RSI and RMI_RTT_SET_RIPAS, driven through `Rmi::call`
//! with scripted realm CPUs.

#[cfg(test)]
mod gic;
#[cfg(test)]
mod prop;
#[cfg(test)]
mod psci;
#[cfg(test)]
mod rec_enter;
#[cfg(test)]
mod rsi;
#[cfg(test)]
mod world;
