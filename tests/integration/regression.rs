//! Regression tests, named after what broke, each with a `// See:` line.
