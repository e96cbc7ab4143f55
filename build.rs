//! Compiles proto/ with protox (no protoc needed) and keeps the file
//! descriptor set for gRPC reflection, wfctl's JSON and the HTTP routes.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/workflow/v1/workflow.proto"];
    println!("cargo:rerun-if-changed=proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).open_files(protos)?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Encoded by protox itself, which keeps extension options: prost's
    // FileDescriptorSet would drop the google.api.http rules the HTTP
    // routes are read from.
    std::fs::write(
        out_dir.join("workflow_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    // The same set with source info (the proto's comments), for the
    // test-only OpenAPI generator's descriptions alone: served, it would
    // change what reflection clients print (grpcurl describe), and prost
    // would turn the comments into doc comments.
    let mut documented = protox::Compiler::new(["proto"])?;
    documented
        .include_imports(true)
        .include_source_info(true)
        .open_files(protos)?;
    std::fs::write(
        out_dir.join("workflow_descriptor_documented.bin"),
        documented.encode_file_descriptor_set(),
    )?;
    let descriptors = compiler.file_descriptor_set();
    // prost::Name on every message: wfctl finds a message's descriptor by
    // its full name to print it in the proto3 JSON mapping.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}
