//! A Harness plugin step's environment, the one way it is written: for the
//! tests (`Step`), the release and Windows tests (paths as the binary sees
//! them there) and `make demo`.

/// The variables of a Harness plugin step running aws-oidc, in the order
/// they were set; setting a name again replaces it.
#[derive(Clone, Debug)]
pub struct StepEnv(Vec<(String, String)>);

impl StepEnv {
    /// What every step has: the role and token as the Harness UI names
    /// them, the STS endpoint and its CA bundle (the stand-in's), and the
    /// secret output file Harness provides.
    pub fn new(role: &str, token: &str, endpoint: &str, ca: &str, secret_file: &str) -> StepEnv {
        StepEnv(Vec::new())
            .set("PLUGIN_IAMROLEARN", role)
            .set("PLUGIN_OIDC_TOKEN_ID", token)
            .set("PLUGIN_STS_ENDPOINT", endpoint)
            .set("PLUGIN_CA_BUNDLE", ca)
            .set("HARNESS_OUTPUT_SECRET_FILE", secret_file)
    }

    /// Sets (or replaces) a variable.
    pub fn set(mut self, key: &str, value: &str) -> StepEnv {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_string(), value.to_string()));
        self
    }

    /// Removes a variable.
    pub fn unset(mut self, key: &str) -> StepEnv {
        self.0.retain(|(k, _)| k != key);
        self
    }

    /// A variable's value, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Every variable as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
