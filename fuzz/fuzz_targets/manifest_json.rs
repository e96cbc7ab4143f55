//! A manifest read as JSON (the API's `format: JSON`, a `.json` drop):
//! `manifest::validate` never panics, and the properties of
//! `workflow_manager_fuzz::check_manifest` hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workflow_manager::fuzz_api::ManifestEncoding;

fuzz_target!(|data: &[u8]| {
    workflow_manager_fuzz::check_manifest(data, ManifestEncoding::Json);
});
