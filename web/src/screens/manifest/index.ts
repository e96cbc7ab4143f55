// The Manifest Builder (/manifests/new), with manifest upload.
export { ManifestBuilderPage } from "./ManifestBuilderPage";
