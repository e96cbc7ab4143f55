//! ListWorkflows: the discovered workflows a caller sees, a page at a
//! time, with the discovery failures and the programs still probed;
//! `namespace` narrows all three to one namespace's directories.

use tonic::{Request, Response, Status};

use super::{convert, namespaces, paging, WorkflowApi};
use crate::pb;

impl WorkflowApi {
    pub(super) async fn list_workflows_call(
        &self,
        request: Request<pb::ListWorkflowsRequest>,
    ) -> Result<Response<pb::ListWorkflowsResponse>, Status> {
        let seen = namespaces::seen(&request);
        let request = request.into_inner();
        let listed = namespaces::narrowed(&seen, &request.namespace);
        let sees = |path: &std::path::Path| self.sees_program(&listed, path);
        let size = paging::page_size(request.page_size, 100, 1000)?;
        // Tokens of unfiltered lists stay those made before the filter.
        let filters = match request.namespace.as_str() {
            "" => 0,
            namespace => paging::fingerprint(&namespace),
        };
        let after: Option<String> = paging::decode(&request.page_token, filters)?;
        let catalog = self.engine.catalog();
        catalog.settled().await;
        let mut page: Vec<_> = catalog
            .workflows()
            .into_iter()
            .filter(|w| sees(&w.program_path))
            .filter(|w| after.as_ref().is_none_or(|a| &w.metadata.id > a))
            .take(size + 1)
            .collect();
        let next_page_token = if page.len() > size {
            page.truncate(size);
            paging::encode(&page[size - 1].metadata.id, filters)
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListWorkflowsResponse {
            // A workflow's namespaces are all those the caller sees, not
            // only the one asked for: they say where else it may run.
            workflows: page
                .iter()
                .map(|w| convert::workflow(w, self.namespaces_shown(&seen, &w.program_path)))
                .collect(),
            next_page_token,
            discovery_errors: catalog
                .failures()
                .iter()
                .filter(|f| sees(&f.program_path))
                .map(convert::discovery_error)
                .collect(),
            programs_probing: catalog
                .probing()
                .iter()
                .filter(|path| sees(path))
                .map(|path| path.to_string_lossy().into_owned())
                .collect(),
        }))
    }
}
