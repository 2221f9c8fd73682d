//! Plane geometry shared by the analyzers.

/// Even-odd point-in-polygon test: whether `(x, y)` lies inside the polygon
/// with corners `pts` (in order, the last joined back to the first). Points
/// on an edge may fall either way; fewer than 3 corners contain nothing.
pub fn point_in_polygon(x: f32, y: f32, pts: &[(f32, f32)]) -> bool {
    let mut inside = false;
    let n = pts.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (xi, yi) = pts[i];
        let (xj, yj) = pts[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_and_concave_corners() {
        let square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
        assert!(point_in_polygon(5.0, 5.0, &square));
        assert!(!point_in_polygon(15.0, 5.0, &square));
        assert!(!point_in_polygon(5.0, -1.0, &square));
        // An L shape: the notch at the top right is outside.
        let l = [
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 6.0),
            (10.0, 6.0),
            (10.0, 10.0),
            (0.0, 10.0),
        ];
        assert!(point_in_polygon(2.0, 2.0, &l));
        assert!(point_in_polygon(8.0, 8.0, &l));
        assert!(!point_in_polygon(8.0, 2.0, &l));
        assert!(!point_in_polygon(1.0, 1.0, &[]));
        assert!(!point_in_polygon(1.0, 1.0, &[(0.0, 0.0), (2.0, 2.0)]));
    }
}
