//! Plane geometry shared by the analyzers and the config checks: the
//! even-odd [`point_in_polygon`] test, and [`simple_polygon`], which says
//! whether a polygon is simple (what every zone, mask and facade in the
//! config must be) and, when not, why.

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

/// Why a polygon is not simple. Corners are numbered from 0, in the order
/// given (as the config's field paths number them); edge `a-b` runs from
/// corner `a` to corner `b`, the last edge back to corner 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolygonFault {
    /// Fewer than 3 corners (how many there are).
    TooFewPoints(usize),
    /// Two corners at the same place (the first two found, `a < b`).
    RepeatedPoint(usize, usize),
    /// Two edges cross or touch away from a shared corner (the first pair
    /// found): edges `a.0-a.1` and `b.0-b.1`.
    Crossing {
        a: (usize, usize),
        b: (usize, usize),
    },
    /// The corners enclose no area (all on one line).
    ZeroArea,
}

impl std::fmt::Display for PolygonFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolygonFault::TooFewPoints(n) => write!(f, "needs at least 3 points, got {n}"),
            PolygonFault::RepeatedPoint(a, b) => write!(
                f,
                "points {a} and {b} are at the same place; expected a simple polygon"
            ),
            PolygonFault::Crossing { a, b } => write!(
                f,
                "edges {}-{} and {}-{} cross; expected a simple polygon",
                a.0, a.1, b.0, b.1
            ),
            PolygonFault::ZeroArea => write!(
                f,
                "its points lie on one line (no area); expected a simple polygon"
            ),
        }
    }
}

/// Areas (in the polygon's units squared) at or below this count as none:
/// far under a pixel for normalised coordinates (one pixel of a 3840×2160
/// frame is 1.2e-7).
const NO_AREA: f64 = 1e-12;

/// Twice the signed area of the triangle `o`, `a`, `b`: > 0 when `b` is to
/// the left of `o`→`a`, 0 on its line.
fn orient(o: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let v = (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    if v.abs() <= NO_AREA {
        0.0
    } else {
        v
    }
}

/// Whether `p`, known to be on the line through `a` and `b`, lies within
/// the segment's bounding box (ends included).
fn within(a: (f64, f64), b: (f64, f64), p: (f64, f64)) -> bool {
    p.0 >= a.0.min(b.0) && p.0 <= a.0.max(b.0) && p.1 >= a.1.min(b.1) && p.1 <= a.1.max(b.1)
}

/// Whether the segments `p1`-`p2` and `q1`-`q2` share any point (crossing,
/// touching or overlapping).
fn segments_meet(p1: (f64, f64), p2: (f64, f64), q1: (f64, f64), q2: (f64, f64)) -> bool {
    let d1 = orient(q1, q2, p1);
    let d2 = orient(q1, q2, p2);
    let d3 = orient(p1, p2, q1);
    let d4 = orient(p1, p2, q2);
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return true;
    }
    (d1 == 0.0 && within(q1, q2, p1))
        || (d2 == 0.0 && within(q1, q2, p2))
        || (d3 == 0.0 && within(p1, p2, q1))
        || (d4 == 0.0 && within(p1, p2, q2))
}

/// Checks that the polygon with corners `pts` (in order, the last joined
/// back to the first) is simple: at least 3 corners, no two at the same
/// place, no two edges meeting except neighbours at their shared corner
/// (neighbours folding back over each other count as meeting), and a
/// non-zero area. Returns the first fault found.
pub fn simple_polygon(pts: &[[f32; 2]]) -> Result<(), PolygonFault> {
    let n = pts.len();
    if n < 3 {
        return Err(PolygonFault::TooFewPoints(n));
    }
    let p: Vec<(f64, f64)> = pts
        .iter()
        .map(|[x, y]| (f64::from(*x), f64::from(*y)))
        .collect();
    for a in 0..n {
        for b in a + 1..n {
            if p[a] == p[b] {
                return Err(PolygonFault::RepeatedPoint(a, b));
            }
        }
    }
    let edge = |i: usize| (i, (i + 1) % n);
    for i in 0..n {
        let (a0, a1) = edge(i);
        for j in i + 1..n {
            let (b0, b1) = edge(j);
            let neighbours = a1 == b0 || b1 == a0;
            let meet = if neighbours {
                // They share a corner; they meet elsewhere only when they
                // lie on one line and one folds back over the other.
                let (shared, x, y) = if a1 == b0 { (a1, a0, b1) } else { (a0, a1, b0) };
                let (s, u, v) = (p[shared], p[x], p[y]);
                orient(s, u, v) == 0.0
                    && (u.0 - s.0) * (v.0 - s.0) + (u.1 - s.1) * (v.1 - s.1) > 0.0
            } else {
                segments_meet(p[a0], p[a1], p[b0], p[b1])
            };
            if meet {
                return Err(PolygonFault::Crossing {
                    a: (a0, a1),
                    b: (b0, b1),
                });
            }
        }
    }
    let twice_area: f64 = (0..n)
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    if twice_area.abs() <= NO_AREA {
        return Err(PolygonFault::ZeroArea);
    }
    Ok(())
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

    #[test]
    fn simple_polygons_pass() {
        let square = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]];
        assert_eq!(simple_polygon(&square), Ok(()));
        // Either direction, concave, and corners on the frame's edge.
        let mut reversed = square;
        reversed.reverse();
        assert_eq!(simple_polygon(&reversed), Ok(()));
        let l = [
            [0.0, 0.0],
            [0.4, 0.0],
            [0.4, 0.6],
            [1.0, 0.6],
            [1.0, 1.0],
            [0.0, 1.0],
        ];
        assert_eq!(simple_polygon(&l), Ok(()));
        assert_eq!(
            simple_polygon(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
            Ok(())
        );
        // A corner on a straight edge (three corners on one line) is fine.
        let straight = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [1.0, 1.0]];
        assert_eq!(simple_polygon(&straight), Ok(()));
    }

    #[test]
    fn a_bow_tie_names_the_crossing_edges() {
        // 0 top left, 1 top right, 2 bottom left, 3 bottom right: the edges
        // 1-2 and 3-0 cross in the middle.
        let bow = [[0.1, 0.1], [0.5, 0.1], [0.1, 0.5], [0.5, 0.5]];
        let fault = simple_polygon(&bow).unwrap_err();
        assert_eq!(
            fault,
            PolygonFault::Crossing {
                a: (1, 2),
                b: (3, 0)
            }
        );
        assert_eq!(
            fault.to_string(),
            "edges 1-2 and 3-0 cross; expected a simple polygon"
        );
        // Crossing further along: a five-pointed star drawn in one stroke.
        let star = [[0.5, 0.0], [0.8, 0.9], [0.0, 0.35], [1.0, 0.35], [0.2, 0.9]];
        assert!(matches!(
            simple_polygon(&star),
            Err(PolygonFault::Crossing { .. })
        ));
    }

    #[test]
    fn touching_folding_repeated_and_flat_polygons_are_refused() {
        // Corner 4 lies on edge 1-2 without being one of its corners.
        let touch = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0], [1.0, 0.5]];
        assert_eq!(
            simple_polygon(&touch),
            Err(PolygonFault::Crossing {
                a: (1, 2),
                b: (3, 4)
            })
        );
        // Edge 1-2 folds back over edge 0-1.
        let fold = [[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [0.5, 1.0]];
        assert_eq!(
            simple_polygon(&fold),
            Err(PolygonFault::Crossing {
                a: (0, 1),
                b: (1, 2)
            })
        );
        let repeated = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        assert_eq!(
            simple_polygon(&repeated),
            Err(PolygonFault::RepeatedPoint(1, 2))
        );
        assert_eq!(
            simple_polygon(&[[0.0, 0.0], [0.5, 0.5]]),
            Err(PolygonFault::TooFewPoints(2))
        );
        assert_eq!(
            PolygonFault::TooFewPoints(2).to_string(),
            "needs at least 3 points, got 2"
        );
        // A flat triangle: no area, though no edges cross.
        let flat = [[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]];
        assert!(simple_polygon(&flat).is_err());
    }
}
