//! Inline sparklines as text (one cell per value), so they sit inside table cells.

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values scaled between 0 and the largest of them.
pub fn spark(values: impl IntoIterator<Item = u64>, width: usize) -> String {
    let v: Vec<u64> = values.into_iter().collect();
    let start = v.len().saturating_sub(width);
    let tail = v.get(start..).unwrap_or(&[]);
    let max = tail.iter().copied().max().unwrap_or(0).max(1);
    tail.iter()
        .map(|x| {
            let i = ((*x as f64 / max as f64) * 7.0).round() as usize;
            BARS.get(i.min(7)).copied().unwrap_or('▁')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_truncates() {
        assert_eq!(spark([0, 50, 100], 3), "▁▅█");
        assert_eq!(spark([100, 0, 100], 2), "▁█");
        assert_eq!(spark([], 5), "");
        assert_eq!(spark([0, 0], 5), "▁▁");
    }
}
