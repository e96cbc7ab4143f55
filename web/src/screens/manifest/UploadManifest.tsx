// "Upload manifest": a manifest file (.json, .yaml, .yml), chosen with the
// file input (the accessible control) or dropped on the zone around it, is
// validated as it is and can be submitted unchanged.
import { useRef, useState, type DragEvent } from "react";
import type { ManifestProblem } from "@workflow-manager/workflowd-client";

import type { DashboardClient } from "../../components/clientContext";
import { errorText } from "../../components/ErrorBanner";
import { newRequestId } from "../../requestId";
import { violationsOf } from "../workflows/violations";
import { submittedPath } from "./submitTarget";

export const MANIFEST_FILE_TYPES = [".json", ".yaml", ".yml"] as const;

/** Whether a file name has one of the manifest extensions. */
export function isManifestFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return MANIFEST_FILE_TYPES.some((ext) => lower.endsWith(ext));
}

type Upload =
  | { status: "reading" | "validating"; fileName: string }
  | { status: "checked"; fileName: string; content: string; valid: boolean; problems: readonly Pick<ManifestProblem, "path" | "message">[]; requestId: string }
  | { status: "error"; fileName: string; message: string };

interface Props {
  client: Pick<DashboardClient, "validateManifest" | "submitManifest">;
  onSubmitted: (path: string) => void;
}

export function UploadManifest({ client, onSubmitted }: Props) {
  const [upload, setUpload] = useState<Upload | null>(null);
  const [dragging, setDragging] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [banner, setBanner] = useState<string | null>(null);
  // The file last chosen wins when two are read at once.
  const generation = useRef(0);

  const check = async (file: File) => {
    const mine = ++generation.current;
    setBanner(null);
    if (!isManifestFileName(file.name)) {
      setUpload({ status: "error", fileName: file.name, message: `${file.name} is not a manifest file: use .json, .yaml or .yml.` });
      return;
    }
    setUpload({ status: "reading", fileName: file.name });
    try {
      const content = await file.text();
      if (mine !== generation.current) return;
      setUpload({ status: "validating", fileName: file.name });
      const result = await client.validateManifest(content, { fileName: file.name });
      if (mine !== generation.current) return;
      setUpload({
        status: "checked",
        fileName: file.name,
        content,
        valid: result.valid,
        problems: result.problems,
        requestId: newRequestId(),
      });
    } catch (err) {
      if (mine === generation.current) setUpload({ status: "error", fileName: file.name, message: errorText(err) });
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void check(file);
  };

  const submit = async () => {
    if (upload?.status !== "checked" || !upload.valid) return;
    setSubmitting(true);
    setBanner(null);
    try {
      const resp = await client.submitManifest(upload.content, { fileName: upload.fileName, requestId: upload.requestId });
      onSubmitted(submittedPath(resp));
    } catch (err) {
      const violations = violationsOf(err);
      if (violations !== null) {
        setUpload({ ...upload, valid: false, problems: violations.map((v) => ({ path: v.field, message: v.description })) });
      } else {
        setBanner(errorText(err));
      }
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <section className="card stack upload-manifest" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload manifest</h2>
      <div
        className={dragging ? "drop-zone dragging" : "drop-zone"}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <label htmlFor="manifest-file">Manifest file</label>
        <input
          id="manifest-file"
          type="file"
          accept={MANIFEST_FILE_TYPES.join(",")}
          aria-describedby="manifest-file-hint"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void check(file);
          }}
        />
        <p id="manifest-file-hint" className="muted field-hint">
          A .json, .yaml or .yml manifest (single VM, batch or Artifact Manifest v1); or drop the file here.
        </p>
      </div>
      {banner !== null && (
        <div className="error-banner" role="alert">
          {banner}
        </div>
      )}
      <div role="status">
        {upload?.status === "reading" && <p className="muted">Reading {upload.fileName}…</p>}
        {upload?.status === "validating" && <p className="muted">Checking {upload.fileName}…</p>}
        {upload?.status === "checked" && upload.valid && <p>{upload.fileName} is valid.</p>}
        {upload?.status === "checked" && !upload.valid && (
          <p className="validation-status">
            {upload.fileName}: {upload.problems.length === 1 ? "1 problem" : `${upload.problems.length} problems`}.
          </p>
        )}
      </div>
      {upload?.status === "error" && (
        <div className="error-banner" role="alert">
          {upload.message}
        </div>
      )}
      {upload?.status === "checked" && upload.problems.length > 0 && (
        <ul className="error-summary" aria-label={`Problems in ${upload.fileName}`}>
          {upload.problems.map((p, i) => (
            <li key={i}>
              <code>{p.path === "" ? "manifest" : p.path}</code>: {p.message}
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <button
          type="button"
          className="button primary"
          disabled={upload?.status !== "checked" || !upload.valid || submitting}
          onClick={() => void submit()}
        >
          Submit file
        </button>
      </div>
    </section>
  );
}
