//! The per-sensor rule state machines: thresholds with hysteresis, rate of
//! rise over a window, and staleness. Pure logic, driven by readings and
//! clock ticks; [`super::SensorMonitor`] turns the transitions into alerts.
//!
//! Every rule is a two-state machine (idle, firing). A rule reports
//! [`Transition::Fired`] once on entering firing and [`Transition::Cleared`]
//! once on leaving it, so a reading that hovers at a limit never flaps: it
//! must go back past the limit by the hysteresis (threshold) or fall below
//! half the rise (rate of rise) before the rule can fire again.

use super::config::SensorRule;
use crate::alert::Severity;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A change of a rule's state caused by one reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Rule `rule` (index in the sensor's `rules`) started firing.
    Fired {
        rule: usize,
        severity: Severity,
        /// What the rule saw: for a rate of rise, the rise and its window.
        detail: serde_json::Value,
    },
    /// Rule `rule` stopped firing.
    Cleared { rule: usize },
}

/// One rule and its state.
#[derive(Debug, Clone)]
struct RuleState {
    rule: SensorRule,
    firing: bool,
    /// Recent readings, for a rate of rise.
    window: VecDeque<(Instant, f64)>,
}

/// The rules of one sensor.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<RuleState>,
}

impl Rules {
    pub fn new(rules: &[SensorRule]) -> Rules {
        Rules {
            rules: rules
                .iter()
                .map(|r| RuleState {
                    rule: r.clone(),
                    firing: false,
                    window: VecDeque::new(),
                })
                .collect(),
        }
    }

    /// Feeds one reading taken at `at`; returns the rules that changed state.
    pub fn reading(&mut self, value: f64, at: Instant) -> Vec<Transition> {
        let mut out = Vec::new();
        for (i, st) in self.rules.iter_mut().enumerate() {
            match st.rule.clone() {
                SensorRule::Threshold {
                    above,
                    below,
                    hysteresis,
                    severity,
                } => {
                    let over = above.is_some_and(|a| value > a) || below.is_some_and(|b| value < b);
                    let back = above.is_none_or(|a| value <= a - hysteresis)
                        && below.is_none_or(|b| value >= b + hysteresis);
                    if !st.firing && over {
                        st.firing = true;
                        out.push(Transition::Fired {
                            rule: i,
                            severity,
                            detail: serde_json::json!({
                                "type": "threshold",
                                "above": above,
                                "below": below,
                                "hysteresis": hysteresis,
                            }),
                        });
                    } else if st.firing && back {
                        st.firing = false;
                        out.push(Transition::Cleared { rule: i });
                    }
                }
                SensorRule::RateOfRise {
                    rise,
                    within_s,
                    severity,
                } => {
                    let span = Duration::from_secs(within_s);
                    st.window.push_back((at, value));
                    while st
                        .window
                        .front()
                        .is_some_and(|(t, _)| at.saturating_duration_since(*t) > span)
                    {
                        st.window.pop_front();
                    }
                    let lowest = st
                        .window
                        .iter()
                        .map(|(_, v)| *v)
                        .fold(f64::INFINITY, f64::min);
                    let risen = value - lowest;
                    if !st.firing && risen >= rise {
                        st.firing = true;
                        out.push(Transition::Fired {
                            rule: i,
                            severity,
                            detail: serde_json::json!({
                                "type": "rate_of_rise",
                                "rise": rise,
                                "within_s": within_s,
                                "observed_rise": risen,
                            }),
                        });
                    } else if st.firing && risen < rise / 2.0 {
                        st.firing = false;
                        out.push(Transition::Cleared { rule: i });
                    }
                }
            }
        }
        out
    }
}

/// Staleness of one sensor: quiet for longer than `after` since the last
/// reading (or since monitoring started, for a sensor never heard from).
#[derive(Debug, Clone)]
pub struct Staleness {
    after: Duration,
    last: Instant,
    stale: bool,
}

impl Staleness {
    pub fn new(after: Duration, started: Instant) -> Staleness {
        Staleness {
            after,
            last: started,
            stale: false,
        }
    }

    /// A reading arrived; `true` when this ends a stale period.
    pub fn reading(&mut self, at: Instant) -> bool {
        self.last = at;
        std::mem::replace(&mut self.stale, false)
    }

    /// The clock moved on; `true` when the sensor has just become stale.
    pub fn tick(&mut self, now: Instant) -> bool {
        if !self.stale && now.saturating_duration_since(self.last) > self.after {
            self.stale = true;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(above: f64, hysteresis: f64) -> Rules {
        Rules::new(&[SensorRule::Threshold {
            above: Some(above),
            below: None,
            hysteresis,
            severity: Severity::Major,
        }])
    }

    fn kinds(t: &[Transition]) -> Vec<&'static str> {
        t.iter()
            .map(|t| match t {
                Transition::Fired { .. } => "fired",
                Transition::Cleared { .. } => "cleared",
            })
            .collect()
    }

    #[test]
    fn threshold_with_hysteresis_does_not_flap() {
        let mut r = threshold(60.0, 5.0);
        let t0 = Instant::now();
        let mut seen = Vec::new();
        // Hovering around the limit: one fire, no clear until below 55.
        for v in [50.0, 61.0, 59.0, 60.5, 58.0, 61.0, 56.0, 54.9, 56.0, 61.0] {
            seen.extend(kinds(&r.reading(v, t0)));
        }
        assert_eq!(seen, ["fired", "cleared", "fired"]);
    }

    #[test]
    fn threshold_without_hysteresis_clears_at_the_limit() {
        let mut r = threshold(60.0, 0.0);
        let t0 = Instant::now();
        assert_eq!(kinds(&r.reading(61.0, t0)), ["fired"]);
        assert_eq!(kinds(&r.reading(60.0, t0)), ["cleared"]);
    }

    #[test]
    fn below_threshold_fires_on_a_low_reading() {
        let mut r = Rules::new(&[SensorRule::Threshold {
            above: None,
            below: Some(10.0),
            hysteresis: 2.0,
            severity: Severity::Warning,
        }]);
        let t0 = Instant::now();
        assert!(r.reading(11.0, t0).is_empty());
        assert_eq!(kinds(&r.reading(9.0, t0)), ["fired"]);
        assert!(r.reading(11.0, t0).is_empty());
        assert_eq!(kinds(&r.reading(12.5, t0)), ["cleared"]);
    }

    #[test]
    fn rate_of_rise_fires_on_a_fast_rise_only() {
        let rule = SensorRule::RateOfRise {
            rise: 8.0,
            within_s: 60,
            severity: Severity::Major,
        };
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // Slow: +1 °C a minute for 20 minutes never rises 8 within 60 s.
        let mut slow = Rules::new(std::slice::from_ref(&rule));
        for m in 0..20 {
            assert!(slow.reading(20.0 + m as f64, at(m * 60)).is_empty());
        }
        // Fast: +9 °C in 50 s fires once, with what it saw.
        let mut fast = Rules::new(&[rule]);
        let mut fired = Vec::new();
        for (s, v) in [(0, 20.0), (10, 21.0), (30, 24.0), (50, 29.0), (55, 29.5)] {
            fired.extend(fast.reading(v, at(s)));
        }
        assert_eq!(kinds(&fired), ["fired"]);
        let Transition::Fired { detail, .. } = &fired[0] else {
            unreachable!()
        };
        assert_eq!(detail["observed_rise"], 9.0);
        // Steady at the new level: once the window has moved past the rise, it clears.
        assert_eq!(kinds(&fast.reading(29.5, at(120))), ["cleared"]);
    }

    #[test]
    fn staleness_fires_once_and_ends_on_a_reading() {
        let t0 = Instant::now();
        let mut s = Staleness::new(Duration::from_secs(120), t0);
        assert!(!s.tick(t0 + Duration::from_secs(100)));
        assert!(s.tick(t0 + Duration::from_secs(121)));
        assert!(!s.tick(t0 + Duration::from_secs(300)));
        assert!(s.reading(t0 + Duration::from_secs(301)));
        assert!(!s.reading(t0 + Duration::from_secs(302)));
        assert!(!s.tick(t0 + Duration::from_secs(400)));
        assert!(s.tick(t0 + Duration::from_secs(423)));
    }
}
