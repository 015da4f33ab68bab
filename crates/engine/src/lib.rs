//! Mechanism: route one TLP hop by hop through ACS, ATS, TBU/IOTLB and the interconnect map. Pure and deterministic.
