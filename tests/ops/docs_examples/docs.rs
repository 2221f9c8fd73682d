//! The docs' examples: each fits what its marker names, and a drifted one
//! is refused.

use super::*;

#[test]
fn every_json_example_in_the_docs_fits_what_its_marker_names() {
    let examples = all_examples();
    // mqtt.md alone has the camera state, the stats and an alert.
    assert!(examples.len() >= 5, "found only {examples:#?}");
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|ex| check_example(ex).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} doc examples are wrong:\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n")
    );
}

#[test]
fn blocks_and_markers_are_found_where_the_convention_says() {
    let md = "text\n\n<!-- example: alert-v1.schema.json -->\n\n```json\n{\"a\": 1}\n```\n\n```json\n[]\n```\n";
    let ex = examples_in("x.md", md);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].target.as_deref(), Some("alert-v1.schema.json"));
    assert_eq!(ex[0].text, "{\"a\": 1}");
    assert_eq!(ex[0].place, "x.md:5");
    assert_eq!(ex[1].target, None);
    assert!(check_example(&ex[1])
        .unwrap_err()
        .contains("needs a marker"));
}

#[test]
fn a_drifted_alert_example_is_refused() {
    let schema = load_schema("alert-v1.schema.json");
    let good = doc_example("alert-v1.schema.json", "\"kind\": \"throwing\"");
    assert_fits(&schema, &good, "docs/mqtt.md's throwing alert");

    // The old example: floor and column straight under details.
    let mut flat = good.clone();
    flat["details"] = serde_json::json!({ "floor": 17, "column": 3 });
    let p = problems(&schema, &flat);
    assert!(
        p.iter()
            .any(|m| m.contains("\"origin\" is a required property")),
        "{p:?}"
    );
    // Even beside the real fields, a flat floor is refused.
    let mut beside = good.clone();
    beside["details"]["floor"] = serde_json::json!(17);
    let p = problems(&schema, &beside);
    assert_eq!(p, ["`/details/floor` is not described by the schema"]);

    // A field the schema does not know, deep inside.
    let mut extra = good.clone();
    extra["details"]["origin"]["storey"] = serde_json::json!(17);
    let p = problems(&schema, &extra);
    assert_eq!(
        p,
        ["`/details/origin/storey` is not described by the schema"]
    );

    // A wrong type, and a timestamp in another form.
    let mut wrong = good;
    wrong["details"]["origin"]["floor"] = serde_json::json!("17");
    wrong["detected_at"] = serde_json::json!("2026-03-01T02:14:07.512345678Z");
    let p = problems(&schema, &wrong);
    assert!(
        p.iter().any(|m| m.contains("/details/origin/floor")),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m.contains("/detected_at")), "{p:?}");
}

#[test]
fn a_drifted_truth_example_is_refused() {
    let good = doc_example("rust:scenes::Truth", "\"generator\"");
    round_trip("scenes::Truth", &good).expect("the docs' example reads back");
    let mut extra = good.clone();
    extra["incidents"][0]["floor"] = serde_json::json!(7);
    assert!(round_trip("scenes::Truth", &extra).is_err());
    let mut missing = good;
    missing.as_object_mut().expect("object").remove("fps");
    assert!(round_trip("scenes::Truth", &missing).is_err());
}
