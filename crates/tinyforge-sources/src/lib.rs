//! tinyforge's Source kinds, one folder per kind. Adding a kind = a folder + one line in
//! [`builtin`]; the API, UI forms, CLI and conformance tests pick it up.

pub mod compose;
pub mod image;
pub mod static_site;

use std::sync::Arc;

use tinyforge_plugin::{Source, SourceAdapter};

/// Every built-in Source kind, in registration order.
pub fn builtin() -> Vec<Arc<dyn Source>> {
    vec![
        Arc::new(SourceAdapter(image::ImageSource)),
        Arc::new(SourceAdapter(compose::ComposeSource)),
        Arc::new(SourceAdapter(static_site::StaticSource)),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_source_conforms() {
        tinyforge_plugin::conformance::assert_source_conformance(super::builtin());
    }
}
