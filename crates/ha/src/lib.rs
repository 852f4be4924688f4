//! High availability through CTDB (work in progress).
