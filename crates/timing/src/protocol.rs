//! What a PCIe link carries per second, from the spec: the signalling rate and line
//! encoding [PCIe r6.0 §4.2: 8b/10b for 2.5 and 5 GT/s, 128b/130b for 8–32 GT/s,
//! 242/256 of each flit for 64 GT/s (FEC and CRC, §4.2.3.4)], the bytes each TLP adds
//! [§2.2 (3DW or 4DW header: 12 or 16 bytes), §3.6.2 and §4.2.2.3 (framing token,
//! sequence number, LCRC: 8 bytes in all, none per TLP in flit mode)], the Ack and
//! UpdateFC DLLPs [§3.6.3.1 Tables 3-7 to 3-9, §2.6.1.2 Tables 2-46 to 2-48: one per
//! so many Symbol Times; a DLLP is 8 bytes striped across the lanes] and the SKP
//! Ordered Sets for clock compensation [§4.2.7: 4 symbols every 1538 at most].
//! The table transcription follows pcie-bench's model (Neugebauer et al., SIGCOMM
//! 2018, `model/pcie.py`), which uses the 8 GT/s rows for every faster generation.

use peerpath_model::{Link, LinkSpeed};

/// Bytes a DLLP takes on the link (6 bytes and 2 framing) [PCIe r6.0 §3.5, §4.2.2.3].
pub const DLLP_BYTES: f64 = 8.0;
/// Framing, sequence number and LCRC per TLP, outside flit mode.
pub const TLP_FRAMING: u32 = 8;
/// A 4DW request header (64-bit address) [PCIe r6.0 §2.2.4.1].
pub const HEADER_4DW: u32 = 16;
/// A 3DW request header (32-bit address).
pub const HEADER_3DW: u32 = 12;
/// A completion header [PCIe r6.0 §2.2.9].
pub const HEADER_CPL: u32 = 12;
/// SKP Ordered Set share of the link [PCIe r6.0 §4.2.7].
pub const SKP_SHARE: f64 = 4.0 / 1538.0;

/// Raw bandwidth of a link after line encoding, in GB/s (10^9 bytes), one direction.
pub fn raw_gbps(link: Link) -> f64 {
    let encoding = match link.speed {
        LinkSpeed::Gen1 | LinkSpeed::Gen2 => 8.0 / 10.0,
        LinkSpeed::Gen3 | LinkSpeed::Gen4 | LinkSpeed::Gen5 => 128.0 / 130.0,
        LinkSpeed::Gen6 => 242.0 / 256.0,
    };
    f64::from(link.speed.mega_transfers()) * f64::from(link.width) * encoding / 8.0 / 1000.0
}

/// The bytes a TLP adds to its payload: framing and header.
pub fn tlp_overhead(speed: LinkSpeed, header: u32) -> u32 {
    match speed {
        LinkSpeed::Gen6 => header,
        _ => TLP_FRAMING + header,
    }
}

/// The Ack latency limit (Symbol Times between Acks) for a link and MPS, which the
/// spec also recommends for UpdateFC [PCIe r5.0 Tables 3-7 to 3-9, 2-46 to 2-48].
fn ack_limit(link: Link, mps: u32) -> f64 {
    const GEN1: [[u32; 6]; 6] = [
        [237, 416, 559, 1071, 2095, 4143],
        [128, 217, 289, 545, 1057, 2081],
        [73, 118, 154, 282, 538, 1050],
        [67, 107, 86, 150, 278, 534],
        [48, 72, 86, 150, 278, 534],
        [33, 45, 52, 84, 148, 276],
    ];
    const GEN2: [[u32; 6]; 6] = [
        [288, 467, 610, 1122, 2146, 4194],
        [179, 268, 340, 596, 1108, 2132],
        [124, 169, 205, 333, 589, 1101],
        [118, 158, 137, 201, 329, 585],
        [99, 123, 137, 201, 329, 585],
        [84, 96, 103, 135, 199, 237],
    ];
    const GEN3: [[u32; 6]; 6] = [
        [333, 512, 655, 1167, 2191, 4239],
        [224, 313, 385, 641, 1153, 2177],
        [169, 214, 250, 378, 634, 1146],
        [163, 203, 182, 246, 374, 630],
        [144, 168, 182, 246, 374, 630],
        [129, 141, 148, 180, 244, 372],
    ];
    let table = match link.speed {
        LinkSpeed::Gen1 => &GEN1,
        LinkSpeed::Gen2 => &GEN2,
        _ => &GEN3,
    };
    // x12 is not in the tables: its x8 row (fewer DLLPs, the smaller overhead).
    let row = match link.width {
        1 => 0,
        2 => 1,
        4 => 2,
        8 | 12 => 3,
        16 => 4,
        _ => 5,
    };
    let col = (mps.max(128).trailing_zeros().saturating_sub(7) as usize).min(5);
    f64::from(table[row][col])
}

/// The share of a direction's Symbol Times taken by the Ack and UpdateFC DLLPs that
/// traffic in the other direction causes: two DLLPs of 8 bytes, striped across the
/// lanes, per Ack latency limit.
pub fn dllp_share(link: Link, mps: u32) -> f64 {
    2.0 * DLLP_BYTES / f64::from(link.width) / ack_limit(link, mps)
}

/// Payload efficiency of TLPs carrying `payload` bytes each with `header` bytes of
/// header: payload / (payload + header + framing).
pub fn payload_efficiency(speed: LinkSpeed, payload: u32, header: u32) -> f64 {
    let p = f64::from(payload.max(1));
    p / (p + f64::from(tlp_overhead(speed, header)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const G4X16: Link = Link {
        speed: LinkSpeed::Gen4,
        width: 16,
    };

    #[test]
    fn gen4_x16_carries_31_5_gb_per_s_after_encoding() {
        assert!(
            (raw_gbps(G4X16) - 31.508).abs() < 0.001,
            "{}",
            raw_gbps(G4X16)
        );
    }

    #[test]
    fn a_256_byte_write_carries_24_bytes_of_header_and_framing() {
        assert_eq!(tlp_overhead(LinkSpeed::Gen4, HEADER_4DW), 24);
        let e = payload_efficiency(LinkSpeed::Gen4, 256, HEADER_4DW);
        assert!((e - 256.0 / 280.0).abs() < 1e-9);
    }

    #[test]
    fn dllps_take_a_small_share_of_a_wide_link_and_more_of_a_narrow_one() {
        let wide = dllp_share(G4X16, 256);
        let narrow = dllp_share(
            Link {
                speed: LinkSpeed::Gen4,
                width: 1,
            },
            256,
        );
        assert!(wide < 0.01, "{wide}");
        assert!(narrow > 0.02 && narrow < 0.05, "{narrow}");
    }
}
