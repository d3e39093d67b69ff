//! Order statistics shared by the clustering (robust outlier scores) and the trace
//! summaries (slow or costly steps).

use std::cmp::Ordering;

/// Numbers compared in IEEE 754 total order (`f32::total_cmp`, `f64::total_cmp`).
pub trait TotalOrder: Copy {
    fn total_order(&self, other: &Self) -> Ordering;
}

impl TotalOrder for f32 {
    fn total_order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl TotalOrder for f64 {
    fn total_order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

/// The middle value (of an even count, the upper of the two middle ones), or None when
/// `values` is empty. Sorts `values`.
pub fn median<T: TotalOrder>(values: &mut [T]) -> Option<T> {
    values.sort_unstable_by(T::total_order);
    values.get(values.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn middle_value_upper_of_two_none_when_empty() {
        assert_eq!(median(&mut [3.0f32, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0f64, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(median::<f64>(&mut []), None);
    }
}
