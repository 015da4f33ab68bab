//! YAML platform files to a validated Platform, with every diagnostic located. The only crate that knows YAML.
