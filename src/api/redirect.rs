//! Which redirects the client follows. A presigned URL comes from the server and its
//! redirects from wherever it points: they are followed a few times, and never from
//! `https` down to `http`, where the signed query (a credential for that object) and the
//! bytes would travel in clear. reqwest already drops the API key on a redirect to
//! another host.

use reqwest::redirect::{Attempt, Policy};
use url::Url;

/// More than S3 ever answers (one region redirect), far fewer than reqwest's ten.
pub const MAX_HOPS: usize = 5;

pub fn policy() -> Policy {
    Policy::custom(
        |attempt: Attempt<'_>| match refusal(attempt.previous(), attempt.url()) {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        },
    )
}

/// Why the redirect to `next` is not followed, after the URLs `previous` (the first
/// request's included); None to follow it.
pub fn refusal(previous: &[Url], next: &Url) -> Option<String> {
    if previous.len() > MAX_HOPS {
        return Some(format!("more than {MAX_HOPS} redirects"));
    }
    let was_tls = previous.iter().any(|u| u.scheme() == "https");
    if was_tls && next.scheme() != "https" {
        return Some(format!(
            "a redirect from https to {} refused (it would send the link in clear)",
            next.scheme()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<Url> {
        list.iter().filter_map(|u| Url::parse(u).ok()).collect()
    }

    #[test]
    fn a_downgrade_to_http_is_refused_anywhere_in_the_chain() {
        let next = Url::parse("http://evil.example/o?X-Amz-Signature=s").ok();
        let next = next.as_ref().expect("a url");
        assert!(refusal(&urls(&["https://s3.example/o"]), next).is_some());
        let chain = urls(&["https://s3.example/o", "https://s3.eu.example/o"]);
        assert!(refusal(&chain, next).is_some());
        let up = Url::parse("https://s3.example/o").expect("a url");
        assert_eq!(refusal(&urls(&["http://127.0.0.1:9/o"]), &up), None);
        assert_eq!(refusal(&urls(&["http://127.0.0.1:9/o"]), next), None);
    }

    #[test]
    fn at_most_five_hops() {
        let next = Url::parse("https://s3.example/o").expect("a url");
        let five = urls(&["https://s3.example/o"; MAX_HOPS]);
        assert_eq!(refusal(&five, &next), None);
        let six = urls(&["https://s3.example/o"; MAX_HOPS + 1]);
        assert!(refusal(&six, &next).is_some());
    }
}
