//! The query strings of the flow's routes: the callback's parameters and `_target_url`, both
//! attacker-controlled input.

/// The parameters of a callback from the provider. Unknown parameters are ignored; when a
/// parameter appears twice, the callback is refused (a sign of tampering).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl CallbackParams {
    pub fn parse(query: Option<&str>) -> Result<CallbackParams, ()> {
        let mut out = CallbackParams::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match &*k {
                "code" => &mut out.code,
                "state" => &mut out.state,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                _ => continue,
            };
            if slot.is_some() {
                return Err(());
            }
            if v.len() > 4096 {
                return Err(());
            }
            *slot = Some(v.into_owned());
        }
        Ok(out)
    }
}

/// Reads one query parameter (the first), decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn callback_parser_never_panics(query in ".{0,200}") {
            let _ = CallbackParams::parse(Some(&query));
            let _ = query_param(Some(&query), "_target_url");
        }

        #[test]
        fn callback_parser_round_trips(code in "[ -~]{1,40}", state in "[ -~]{1,40}") {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &code)
                .append_pair("state", &state)
                .finish();
            let p = CallbackParams::parse(Some(&query)).unwrap();
            prop_assert_eq!(p.code.as_deref(), Some(code.as_str()));
            prop_assert_eq!(p.state.as_deref(), Some(state.as_str()));
        }
    }

    #[test]
    fn callback_params() {
        let p = CallbackParams::parse(Some("code=abc&state=s%2Bt&x=1")).unwrap();
        assert_eq!(p.code.as_deref(), Some("abc"));
        assert_eq!(p.state.as_deref(), Some("s+t"));
        let e = CallbackParams::parse(Some(
            "error=access_denied&error_description=The+user+denied+the+request&state=s",
        ))
        .unwrap();
        assert_eq!(e.error.as_deref(), Some("access_denied"));
        assert_eq!(
            e.error_description.as_deref(),
            Some("The user denied the request")
        );
        assert!(CallbackParams::parse(Some("state=a&state=b")).is_err());
        assert_eq!(
            CallbackParams::parse(None).unwrap(),
            CallbackParams::default()
        );
    }
}
