//! Policy: the kernel's decisions (K1-K5) and the findings (F), one module per rule, each citing its source.
