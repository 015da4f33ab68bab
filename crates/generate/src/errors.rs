//! Why a scale-test platform cannot be made (`crate::scale`).

/// A request `crate::scale` cannot honour.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    /// No endpoint asked for.
    #[error("a platform needs at least one endpoint")]
    NoEndpoints,
    /// More endpoints than a generated file the loader reads can hold.
    #[error(
        "{endpoints} endpoints are more than the {max} a generated platform may have (its \
         file would be above the {file_limit} bytes the loader reads)"
    )]
    TooManyEndpoints {
        /// Asked for.
        endpoints: usize,
        /// [`crate::scale::MAX_ENDPOINTS`].
        max: usize,
        /// The loader's file limit.
        file_limit: u64,
    },
    /// More pairings than the loader expands.
    #[error(
        "{endpoints} endpoints importing {exports} exports are {pairings} pairings, more \
         than the {max} the loader expands: at most {most_exports} exports for \
         {endpoints} endpoints"
    )]
    TooManyPairings {
        /// Endpoints asked for.
        endpoints: usize,
        /// Exports asked for.
        exports: usize,
        /// N × M − M.
        pairings: u64,
        /// The loader's limit.
        max: usize,
        /// The most exports that fit.
        most_exports: u64,
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
