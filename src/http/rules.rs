//! The HTTP routes, read from the `google.api.http` annotations of the
//! proto's RPCs: the proto is the one source of both the gRPC API and its
//! HTTP/JSON form, so a route cannot drift from its method.

use http::Method;
use prost_reflect::{DescriptorPool, MethodDescriptor, ServiceDescriptor, Value};

use super::template::{PathTemplate, TemplateError};

/// The service the routes are read from.
pub(crate) const SERVICE: &str = "workflow.v1.WorkflowService";

/// Where a request message's fields come from besides the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyRule {
    /// No body: every field not bound by the path is a query parameter.
    None,
    /// The body is the whole request message (`body: "*"`), minus the
    /// fields the path binds.
    Whole,
}

/// One HTTP route of one RPC.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// GET, POST, ...
    pub(crate) verb: Method,
    /// The path template.
    pub(crate) template: PathTemplate,
    /// Where the other fields come from.
    pub(crate) body: BodyRule,
    /// The RPC the route calls.
    pub(crate) method: MethodDescriptor,
}

impl Route {
    /// The gRPC path of the RPC, e.g. `/workflow.v1.WorkflowService/GetStatus`.
    pub(crate) fn grpc_path(&self) -> String {
        format!(
            "/{}/{}",
            self.method.parent_service().full_name(),
            self.method.name()
        )
    }
}

/// What a request's method and path found.
pub(crate) enum Lookup<'a> {
    /// A route, with the path's bindings.
    Found(&'a Route, Vec<(String, String)>),
    /// The path exists, not with this method: the ones it has.
    WrongMethod(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Every route of the service.
#[derive(Debug, Clone)]
pub(crate) struct RouteTable {
    routes: Vec<Route>,
}

/// Why the annotations could not be read: a defect of the proto, caught by
/// the unit tests before a daemon ever starts.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuleError {
    /// The descriptor set lacks the service or the annotation.
    #[error("{0} is not in the descriptor set")]
    Missing(&'static str),
    /// An RPC has no `google.api.http` rule.
    #[error("{method} has no google.api.http rule")]
    Unannotated { method: String },
    /// A rule uses a form the router does not serve.
    #[error("{method}: {reason}")]
    Unsupported { method: String, reason: String },
    /// A path template is malformed.
    #[error("{method}: {source}")]
    Template {
        method: String,
        source: TemplateError,
    },
}

impl RouteTable {
    /// Reads the routes of [`SERVICE`] from `pool`. Every RPC must have one.
    pub(crate) fn from_pool(pool: &DescriptorPool) -> Result<Self, RuleError> {
        let service: ServiceDescriptor = pool
            .get_service_by_name(SERVICE)
            .ok_or(RuleError::Missing(SERVICE))?;
        let http = pool
            .get_extension_by_name("google.api.http")
            .ok_or(RuleError::Missing("google.api.http"))?;
        let mut routes = Vec::new();
        for method in service.methods() {
            let name = method.full_name().to_string();
            let options = method.options();
            if !options.has_extension(&http) {
                return Err(RuleError::Unannotated { method: name });
            }
            let rule = options.get_extension(&http);
            let Value::Message(rule) = rule.as_ref() else {
                return Err(RuleError::Missing("google.api.HttpRule"));
            };
            let unsupported = |reason: &str| RuleError::Unsupported {
                method: name.clone(),
                reason: reason.to_string(),
            };
            let pattern = ["get", "post", "put", "delete", "patch"]
                .into_iter()
                .find_map(|verb| match rule.get_field_by_name(verb).as_deref() {
                    Some(Value::String(path)) if !path.is_empty() => Some((verb, path.clone())),
                    _ => None,
                })
                .ok_or_else(|| unsupported("no get/post/put/delete/patch pattern"))?;
            let body = match rule.get_field_by_name("body").as_deref() {
                Some(Value::String(body)) if body.is_empty() => BodyRule::None,
                Some(Value::String(body)) if body == "*" => BodyRule::Whole,
                _ => return Err(unsupported("body must be empty or \"*\"")),
            };
            let has_bindings = matches!(
                rule.get_field_by_name("additional_bindings").as_deref(),
                Some(Value::List(list)) if !list.is_empty()
            );
            if has_bindings {
                return Err(unsupported("additional_bindings are not served"));
            }
            let template =
                PathTemplate::parse(&pattern.1).map_err(|source| RuleError::Template {
                    method: name.clone(),
                    source,
                })?;
            let input = method.input();
            for field in template.variables() {
                if input.get_field_by_name(field).is_none() {
                    return Err(unsupported(&format!("the path binds {field}, not a field")));
                }
            }
            routes.push(Route {
                verb: pattern
                    .0
                    .to_ascii_uppercase()
                    .parse()
                    .expect("an HTTP verb"),
                template,
                body,
                method,
            });
        }
        // `/x/{id}:wait` before `/x/{id}`: a variable may contain a colon,
        // so the route with the verb must be tried first.
        routes.sort_by_key(|route| !route.template.has_verb());
        Ok(Self { routes })
    }

    /// The routes, in matching order.
    #[cfg(test)]
    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route for `verb` and `path`.
    pub(crate) fn lookup(&self, verb: &Method, path: &str) -> Lookup<'_> {
        let mut allowed = Vec::new();
        let mut verb_matched = false;
        for route in &self.routes {
            // `/x/abc:cancel` is the cancel route's path whatever the
            // method: it must not fall through to `/x/{id}` with the id
            // `abc:cancel`. (Routes with a verb come first.)
            if verb_matched && !route.template.has_verb() {
                break;
            }
            if let Some(bindings) = route.template.matches(path) {
                verb_matched |= route.template.has_verb();
                if route.verb == *verb {
                    return Lookup::Found(route, bindings);
                }
                allowed.push(route.verb.clone());
            }
        }
        if allowed.is_empty() {
            Lookup::NotFound
        } else {
            allowed.dedup();
            Lookup::WrongMethod(allowed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto_json::pool;

    fn table() -> RouteTable {
        RouteTable::from_pool(pool()).expect("every RPC has a served route")
    }

    fn found(verb: Method, path: &str) -> (String, Vec<(String, String)>) {
        match table().lookup(&verb, path) {
            Lookup::Found(route, bindings) => (route.method.name().to_string(), bindings),
            Lookup::WrongMethod(_) => panic!("{verb} {path}: wrong method"),
            Lookup::NotFound => panic!("{verb} {path}: not found"),
        }
    }

    #[test]
    fn every_rpc_has_exactly_one_route() {
        let table = table();
        let service = pool().get_service_by_name(SERVICE).unwrap();
        assert_eq!(table.routes().len(), service.methods().len());
    }

    #[test]
    fn the_issue_s_routes_reach_their_methods() {
        let id = |v: &str| vec![("execution_id".to_string(), v.to_string())];
        assert_eq!(
            found(Method::GET, "/v1/workflows"),
            ("ListWorkflows".into(), vec![])
        );
        assert_eq!(
            found(Method::GET, "/v1/workflows/hello").0,
            "GetWorkflow".to_string()
        );
        assert_eq!(
            found(Method::POST, "/v1/workflows/hello:validate").0,
            "ValidateInputs".to_string()
        );
        assert_eq!(found(Method::POST, "/v1/executions").0, "Execute");
        assert_eq!(found(Method::GET, "/v1/executions").0, "ListExecutions");
        assert_eq!(
            found(Method::GET, "/v1/executions/e1"),
            ("GetExecution".into(), id("e1"))
        );
        assert_eq!(
            found(Method::GET, "/v1/executions/e1:wait"),
            ("WaitExecution".into(), id("e1"))
        );
        assert_eq!(
            found(Method::POST, "/v1/executions/e1:cancel"),
            ("Cancel".into(), id("e1"))
        );
        assert_eq!(
            found(Method::GET, "/v1/executions/e1/logs"),
            ("StreamLogs".into(), id("e1"))
        );
        assert_eq!(found(Method::GET, "/v1/status").0, "GetStatus");
        assert_eq!(
            found(Method::POST, "/v1/manifests:validate").0,
            "ValidateManifest"
        );
        assert_eq!(
            found(Method::POST, "/v1/manifests:submit").0,
            "SubmitManifest"
        );
    }

    #[test]
    fn a_known_path_with_another_method_is_told_apart_from_an_unknown_one() {
        let table = table();
        assert!(matches!(
            table.lookup(&Method::DELETE, "/v1/executions"),
            Lookup::WrongMethod(allowed) if allowed == [Method::POST, Method::GET] || allowed == [Method::GET, Method::POST]
        ));
        assert!(matches!(
            table.lookup(&Method::GET, "/v1/nothing"),
            Lookup::NotFound
        ));
        assert!(matches!(
            table.lookup(&Method::GET, "/v1/executions/e1:cancel"),
            Lookup::WrongMethod(allowed) if allowed == [Method::POST]
        ));
    }
}
