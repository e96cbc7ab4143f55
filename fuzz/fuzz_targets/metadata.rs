//! A program's answer to `--workflow-metadata`, read as discovery reads it
//! (`discovery::parse_metadata`: the JSON, `WorkflowMetadata::check`, the
//! inputs as JSON Schema).
//!
//! Asserts: never panics; a refusal says why; accepted metadata gives a
//! JSON Schema object with one property per field, every required name
//! among them; and the metadata written back as JSON (as the API and the
//! cache hold it) is read again to the same metadata and the same schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use workflow_manager::fuzz_api::read_workflow_metadata;

fuzz_target!(|data: &[u8]| {
    let (metadata, schema_text) = match read_workflow_metadata(data) {
        Ok(read) => read,
        Err(why) => {
            assert!(!why.is_empty(), "a refusal without a reason");
            return;
        }
    };
    let schema: Value = serde_json::from_str(&schema_text).expect("the schema is JSON");
    assert_eq!(schema["type"], "object");
    let properties = schema["properties"].as_object().expect("properties");
    assert_eq!(
        properties.len(),
        metadata.fields.len(),
        "one property per field"
    );
    for field in &metadata.fields {
        assert!(
            properties.contains_key(&field.name),
            "{:?} has no property",
            field.name
        );
    }
    for name in schema["required"].as_array().expect("required") {
        let name = name.as_str().expect("required names are strings");
        assert!(
            properties.contains_key(name),
            "required {name:?} has no property"
        );
    }

    let written = serde_json::to_vec(&metadata).expect("metadata serializes");
    let (again, again_schema) = read_workflow_metadata(&written).unwrap_or_else(|why| {
        panic!(
            "metadata written back is refused: {why}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, metadata, "metadata written back reads differently");
    assert_eq!(
        again_schema, schema_text,
        "the schema changed on a round trip"
    );
});
