//! "Did you mean …?" by edit distance.

/// Edit distance counting an adjacent transposition as one edit (optimal string
/// alignment), case-insensitive.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn closest<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    const MAX_LEN: usize = 64;
    if input.chars().count() > MAX_LEN {
        return None;
    }
    let len = input.chars().count();
    let limit = (len / 3).clamp(1, 3);
    // Inputs are at most MAX_LEN characters, so the table above stays small; the
    // length filter skips most candidates without computing a distance.
    candidates
        .into_iter()
        .filter(|c| *c != input && c.len().abs_diff(input.len()) <= 4 * limit)
        .filter(|c| {
            let n = c.chars().count();
            n <= MAX_LEN && n.abs_diff(len) <= limit
        })
        .map(|c| (distance(input, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate.
pub(crate) fn did_you_mean<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    closest(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// "a, b, c" for an expected list.
pub(crate) fn one_of(items: &[&str]) -> String {
    format!("one of {}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(distance("mpss", "mps"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("arm46", "arm64"), 1);
        assert_eq!(closest("mpsss", ["mps", "mpss", "bdf"]), Some("mpss"));
        assert_eq!(closest("parnet", ["parent", "name"]), Some("parent"));
        assert_eq!(closest("xyz", ["parent", "name"]), None);
        assert_eq!(closest("gpu0", ["gpu0"]), None);
    }
}
