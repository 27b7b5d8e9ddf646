//! Flows: jobs whose parents wait for their children (BullMQ's `FlowProducer`, the
//! `parent` job option and the `Job` methods about children). The parent side of a
//! child's end (completion, failure, removal) is in the Lua include `parent.lua`, which
//! the finishing and removing scripts share.

mod children;
mod producer;
mod tree;

pub use crate::parent::{split_job_key, OnChildFailure, ParentLink};
pub use children::{ChildrenPage, Dependencies, DependenciesRequest, DependencyKind, Page};
pub use producer::{FlowNode, FlowProducer, FlowProducerOptions, JobNode, QueuesOptions};
pub use tree::FlowRequest;
