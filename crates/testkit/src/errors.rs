//! Why a scale-test platform cannot be made (`crate::scale`).

/// A request `crate::scale` cannot honour.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    /// No endpoint asked for.
    #[error("a platform needs at least one endpoint")]
    NoEndpoints,
    /// More endpoints than a platform may have.
    #[error("{endpoints} endpoints are more than the {max} a platform may have")]
    TooManyEndpoints {
        /// Asked for.
        endpoints: usize,
        /// The loader's limit.
        max: usize,
    },
    /// More exports than GPUs.
    #[error("{exports} exports need as many GPUs, but {endpoints} endpoints include only {gpus}")]
    TooManyExports {
        /// Asked for.
        exports: usize,
        /// Endpoints asked for.
        endpoints: usize,
        /// GPUs among them.
        gpus: usize,
    },
}
