//! Inline sparklines as text (one cell per value), so they sit inside table cells.

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values scaled between 0 and the largest of them.
pub fn spark(values: impl IntoIterator<Item = u64>, width: usize) -> String {
    let v: Vec<u64> = values.into_iter().collect();
    let start = v.len().saturating_sub(width);
    let max = v
        .get(start..)
        .unwrap_or(&[])
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    spark_scaled(v, width, max)
}

/// The last `width` values scaled between 0 and `max` (a scale shared by several
/// sparklines, so rows compare: a row of 1–2 ms values under a 100 ms scale stays
/// flat instead of jumping to full height). Values above `max` draw full height.
pub fn spark_scaled(values: impl IntoIterator<Item = u64>, width: usize, max: u64) -> String {
    let v: Vec<u64> = values.into_iter().collect();
    let start = v.len().saturating_sub(width);
    let tail = v.get(start..).unwrap_or(&[]);
    let max = max.max(1);
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

    #[test]
    fn a_shared_scale_keeps_small_jitter_flat() {
        // Alone, 1↔2 ms jitter fills the height; under a 100 ms scale it is flat.
        assert_eq!(spark([1, 2, 1, 2], 4), "▅█▅█");
        assert_eq!(spark_scaled([1, 2, 1, 2], 4, 100), "▁▁▁▁");
        assert_eq!(spark_scaled([50, 100, 400], 3, 100), "▅██");
        assert_eq!(spark_scaled([5], 3, 0), "█");
    }
}
