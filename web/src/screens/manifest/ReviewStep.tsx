// Step 4: the manifest as JSON and YAML, the pipelines as the daemon will
// run them (ValidateManifest's normalized documents), and Submit.
import { useState } from "react";
import type { ManifestVm } from "@workflow-manager/workflowd-client";

import { saveText } from "../../components/saveFile";
import { copyText } from "./exportText";

interface ReviewStepProps {
  json: string;
  yaml: string;
  /** The manifest's file name without extension, for downloads. */
  baseName: string;
  normalized: readonly ManifestVm[];
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function ReviewStep({ json, yaml, baseName, normalized }: ReviewStepProps) {
  const [notice, setNotice] = useState("");
  const copy = async (text: string, what: string) => {
    setNotice((await copyText(text)) ? `Copied the ${what}.` : `The browser did not allow copying; select the ${what} text instead.`);
  };
  const exports = [
    { what: "JSON", text: json, ext: "json", mime: "application/json" },
    { what: "YAML", text: yaml, ext: "yaml", mime: "application/yaml" },
  ];
  return (
    <div className="stack">
      <div className="manifest-exports">
        {exports.map((e) => (
          <section key={e.what} className="card stack" aria-labelledby={`manifest-${e.ext}-heading`}>
            <h3 id={`manifest-${e.ext}-heading`}>Manifest ({e.what})</h3>
            <pre className="manifest-text" tabIndex={0} aria-labelledby={`manifest-${e.ext}-heading`}>
              {e.text}
            </pre>
            <div className="row">
              <button type="button" className="button" onClick={() => void copy(e.text, e.what)}>
                Copy {e.what}
              </button>
              <button type="button" className="button" onClick={() => saveText(e.text, `${baseName}.${e.ext}`, e.mime)}>
                Download {e.what}
              </button>
            </div>
          </section>
        ))}
      </div>
      <p className="muted" role="status">
        {notice}
      </p>
      <section className="stack" aria-labelledby="normalized-heading">
        <h3 id="normalized-heading">Pipelines as they will run</h3>
        {normalized.length === 0 ? (
          <p className="muted">Shown once the manifest is valid.</p>
        ) : (
          normalized.map((vm) => (
            <details key={vm.name} className="card">
              <summary>{vm.name}</summary>
              <pre className="manifest-text">{prettyJson(vm.pipelineJson)}</pre>
            </details>
          ))
        )}
      </section>
    </div>
  );
}
