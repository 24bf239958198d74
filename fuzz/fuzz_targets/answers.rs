//! The client's readings of server answers never panic, whatever the bytes. The first
//! byte picks the answer: list, upload-url, confirm (a file object) or download-url.
#![no_main]

use filedeck::api::FileEntry;
use filedeck::wire::{DownloadUrlResponse, UploadUrlResponse};
use filedeck::fuzzing;
use libfuzzer_sys::fuzz_target;

fn entry(e: &FileEntry) {
    let _ = e.display_key();
    let _ = filedeck::sanitize::for_terminal(&e.name);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let endpoint = url::Url::parse("http://127.0.0.1:8080/api/").expect("a fixed URL");
    match which % 4 {
        0 => {
            // The limits the client asks for, and one the server may cap below.
            for limit in [1, 100, 10_000] {
                if let Ok(page) = fuzzing::parse_list(body, limit) {
                    page.files.iter().for_each(entry);
                }
            }
        }
        1 => {
            if let Ok(a) = serde_json::from_slice::<UploadUrlResponse>(body) {
                // As `Client::absolute` takes it: absolute, else relative to the endpoint.
                let _ = url::Url::parse(&a.upload_url).or_else(|_| endpoint.join(&a.upload_url));
                let _ = filedeck::wire::split_key(&a.file_key);
            }
        }
        2 => {
            if let Ok(e) = serde_json::from_slice::<FileEntry>(body) {
                entry(&e.normalise());
            }
        }
        _ => {
            if let Ok(a) = serde_json::from_slice::<DownloadUrlResponse>(body) {
                let _ = url::Url::parse(&a.url).or_else(|_| endpoint.join(&a.url));
            }
        }
    }
});
