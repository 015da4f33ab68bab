//! Import a real machine (sysfs, lspci, dmesg) into a platform description.
