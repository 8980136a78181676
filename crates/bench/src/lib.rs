//! TFTP benchmark harness: phoneflip's server against tftpd-hpa and
//! dnsmasq, same run, same client, loopback only.
//!
//! Owns the load generator, the server launchers, the /proc measurements
//! and the Markdown report behind `phoneflip bench tftp`. Must not touch
//! the TFTP server itself (`phoneflip-tftp`) or the provisioning pipeline
//! (`phoneflip-provision`): it drives them exactly as `phoneflip serve`
//! would, so what it measures is what ships.
