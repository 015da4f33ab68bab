//! Proptest strategies for random platforms: a [`Case`] (seed and knobs) that
//! shrinks on both, towards the simplest knobs of [`Knobs::default`].
//!
//! ```
//! use peerpath_testkit::strategy::cases;
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! // What `proptest!` does with `case in cases()`:
//! let mut runner = TestRunner::deterministic();
//! let case = cases().new_tree(&mut runner).expect("a case").current();
//! let platform = case.platform();
//! assert_eq!(platform, case.platform(), "a case is its seed and knobs");
//! ```
//! To hold a knob fixed, map the knobs: `knobs().prop_map(|k| Knobs { iommu:
//! IommuKnob::Flavor, ..k })`, then [`cases_with`].

use peerpath_model::{AcsDecision, CcKind, DomainType, GroupAlgorithm, PcieBusConfig, Translation};
use proptest::prelude::*;

use crate::knobs::{
    limits, AcsKnob, CcKnob, DomainKnob, Flavor, ImportKnob, IommuKnob, Knobs, TrafficKnob,
    TranslationKnob, ViaKnob,
};
use crate::random::Case;

/// Each value of a list, shrinking towards the first.
fn one_of<T: Clone + std::fmt::Debug + 'static>(values: &'static [T]) -> BoxedStrategy<T> {
    (0..values.len())
        .prop_map(move |i| values[i].clone())
        .boxed()
}

/// Every knob, each shrinking towards [`Knobs::default`].
pub fn knobs() -> impl Strategy<Value = Knobs> {
    let shape = (
        one_of(&Flavor::ALL),
        1..=limits::HOST_BRIDGES,
        1..=limits::ROOT_PORTS,
        0..=limits::DEPTH,
        1..=limits::FANOUT,
        2u8..=24,
    );
    let acs = (
        one_of(&[AcsKnob::Off, AcsKnob::On, AcsKnob::Partial, AcsKnob::Random]),
        any::<bool>(),
        one_of(&[IommuKnob::Flavor, IommuKnob::None, IommuKnob::Mixed]),
        one_of(&[
            TranslationKnob::Flavor,
            TranslationKnob::All(Translation::ExternalTbu),
            TranslationKnob::All(Translation::DtiAts),
            TranslationKnob::All(Translation::Integrated),
            TranslationKnob::All(Translation::None),
            TranslationKnob::Mixed,
        ]),
    );
    let kernel = (
        one_of(&[DomainKnob::Default, DomainKnob::Mixed]),
        one_of(&[DomainType::Dma, DomainType::DmaFq, DomainType::Identity]),
        one_of(&[
            CcKnob::None,
            CcKnob::Guest(CcKind::ArmCcaRealm),
            CcKnob::Guest(CcKind::Sev),
            CcKnob::Guest(CcKind::Tdx),
        ]),
        one_of(PcieBusConfig::ALL),
        one_of(GroupAlgorithm::ALL),
        one_of(AcsDecision::ALL),
    );
    let pairings = (
        1..=limits::EXPORTS,
        one_of(&[ViaKnob::VfioDmabuf, ViaKnob::P2pdmaPages, ViaKnob::Mixed]),
        one_of(&[ImportKnob::Default, ImportKnob::Explicit]),
        one_of(&[TrafficKnob::Default, TrafficKnob::Random]),
    );
    let extras = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    (shape, acs, kernel, pairings, extras).prop_map(
        |(
            (flavor, host_bridges, root_ports, depth, fanout, max_endpoints),
            (acs, acs_cmdline, iommu, translation),
            (domains, default_domain, cc, pcie_bus_config, group_algorithm, acs_decision),
            (exports, via, imports, traffic),
            (bridges, multifunction, rcieps, quirks, vms),
        )| Knobs {
            flavor,
            host_bridges,
            root_ports,
            depth,
            fanout,
            max_endpoints,
            acs,
            acs_cmdline,
            iommu,
            translation,
            domains,
            default_domain,
            cc,
            pcie_bus_config,
            group_algorithm,
            acs_decision,
            exports,
            via,
            imports,
            traffic,
            bridges,
            multifunction,
            rcieps,
            quirks,
            vms,
        },
    )
}

/// A seed and the knobs of `knobs`: shrinks the knobs (towards simpler platforms) and
/// the seed.
pub fn cases_with(knobs: impl Strategy<Value = Knobs>) -> impl Strategy<Value = Case> {
    (any::<u64>(), knobs).prop_map(|(seed, knobs)| Case { seed, knobs })
}

/// A seed and any knobs.
pub fn cases() -> impl Strategy<Value = Case> {
    cases_with(knobs())
}
