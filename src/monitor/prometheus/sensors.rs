//! The `estatewatch_sensor_*` families: readings and bad payloads of each
//! MQTT sensor, and the latest value of those that have reported.

use super::out::Out;
use crate::monitor::SensorSnapshot;

/// The sensor families.
pub(super) fn render(o: &mut Out, sensors: &[SensorSnapshot]) {
    let sensor = |x: &SensorSnapshot| vec![("sensor", x.sensor.clone())];
    o.each(
        sensors,
        "estatewatch_sensor_readings_total",
        "counter",
        "Sensor payloads that gave a reading.",
        |x| (sensor(x), x.readings as f64),
    );
    o.each(
        sensors,
        "estatewatch_sensor_bad_payloads_total",
        "counter",
        "Sensor payloads that gave no reading (not JSON, missing path, wrong type).",
        |x| (sensor(x), x.bad_payloads as f64),
    );
    // Gauges only for sensors that have reported: no made-up zero reading.
    let reported: Vec<(&SensorSnapshot, f64, f64)> = sensors
        .iter()
        .filter_map(|x| Some((x, x.value?, x.last_reading_age_s?)))
        .collect();
    o.each(
        &reported,
        "estatewatch_sensor_value",
        "gauge",
        "The sensor's latest reading, in its configured unit.",
        |(x, v, _)| (sensor(x), *v),
    );
    o.each(
        &reported,
        "estatewatch_sensor_last_reading_age_seconds",
        "gauge",
        "Seconds since the sensor's latest reading.",
        |(x, _, age)| (sensor(x), *age),
    );
}
