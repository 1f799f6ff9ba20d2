//! Which pages to measure when not all of them fit, and in which order.

/// Pick `m` of the pages, stratified: walk them sorted by (group, content length) and take
/// evenly spaced positions, so every section and every size band is represented in proportion.
pub fn stratified(strata: &[(String, u64)], m: usize) -> Vec<usize> {
    let n = strata.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| strata[a].cmp(&strata[b]).then(a.cmp(&b)));
    if m >= n {
        return order;
    }
    (0..m).map(|j| order[((2 * j + 1) * n) / (2 * m)]).collect()
}

/// Visit items in bit-reversed order so that any prefix of the visit is spread over the whole
/// list: if the budget runs out half way, what was measured is still a fair sample.
pub fn spread_order(n: usize) -> Vec<usize> {
    if n <= 2 {
        return (0..n).collect();
    }
    let bits = usize::BITS - (n - 1).leading_zeros();
    (0..(1usize << bits))
        .map(|i| i.reverse_bits() >> (usize::BITS - bits))
        .filter(|&i| i < n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_covers_groups_in_proportion() {
        let mut strata = Vec::new();
        for i in 0..90 {
            strata.push(("a".to_string(), i));
        }
        for i in 0..10 {
            strata.push(("b".to_string(), i));
        }
        let pick = stratified(&strata, 10);
        assert_eq!(pick.len(), 10);
        let from_b = pick.iter().filter(|&&i| strata[i].0 == "b").count();
        assert_eq!(from_b, 1);
        let mut unique = pick.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(stratified(&strata, 500).len(), 100);
    }

    #[test]
    fn spread_order_is_a_permutation_with_spread_prefix() {
        for n in [0, 1, 2, 3, 7, 8, 57, 1100] {
            let mut order = spread_order(n);
            assert_eq!(order.len(), n);
            if n >= 8 {
                // the first half of the visit already touches every quarter of the list
                let quarters: std::collections::HashSet<_> =
                    order[..n / 2].iter().map(|&i| i * 4 / n).collect();
                assert_eq!(quarters.len(), 4, "n={n}");
            }
            order.sort();
            assert_eq!(order, (0..n).collect::<Vec<_>>());
        }
    }
}
