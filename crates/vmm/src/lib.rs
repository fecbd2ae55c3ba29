//! A realm VMM library: images, layouts, the realm-construction plan, and its backends.
