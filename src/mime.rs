//! The one content-type table, shared by the client (what it declares when uploading) and
//! the reference server (what it stores when a client declares nothing useful).
//!
//! `mime_guess` knows the web's types but gets genomics files wrong (`.vcf` is a vCard to
//! it, `.bed` a RealVNC file) or does not know them, so a small table of genomics suffixes
//! comes first. Matching is ASCII case-insensitive and on the longest suffix, so
//! `sample.VCF.GZ` is the compressed file, not the VCF.
//!
//! Choices:
//! - Compressed files (`.vcf.gz`, `.fastq.gz`, `.fq.gz`, any `.gz`/`.bgz`) are
//!   `application/gzip`: that is what the bytes are. A VCF-specific type would tell a
//!   browser or tool to read text, and `Content-Encoding: gzip` would make HTTP clients
//!   inflate the body, so the stored bytes (and their hashes) would not be what arrives.
//! - Binary formats without a registered type (`.bam`, `.bcf`, `.cram` and the indexes
//!   `.bai`, `.crai`, `.csi`, `.tbi`) are `application/octet-stream`: an `x-` type no
//!   program knows says nothing more, and octet-stream downloads as a file everywhere.
//! - Text formats get the `text/x-…` types the tools and the hosted service use.
//! - `.fai` (a FASTA index) is five tab-separated columns: `text/tab-separated-values`.

/// Genomics suffixes, compound ones before the suffixes they end with (a unit test checks).
const GENOMICS: &[(&str, &str)] = &[
    (".vcf.gz", "application/gzip"),
    (".fastq.gz", "application/gzip"),
    (".fq.gz", "application/gzip"),
    (".vcf", "text/x-vcf"),
    (".bcf", "application/octet-stream"),
    (".bam", "application/octet-stream"),
    (".bai", "application/octet-stream"),
    (".cram", "application/octet-stream"),
    (".crai", "application/octet-stream"),
    (".csi", "application/octet-stream"),
    (".tbi", "application/octet-stream"),
    (".sam", "text/x-sam"),
    (".fastq", "text/x-fastq"),
    (".fq", "text/x-fastq"),
    (".fasta", "text/x-fasta"),
    (".fa", "text/x-fasta"),
    (".fna", "text/x-fasta"),
    (".ffn", "text/x-fasta"),
    (".faa", "text/x-fasta"),
    (".frn", "text/x-fasta"),
    (".fai", "text/tab-separated-values"),
    (".bed", "text/x-bed"),
    (".gff3", "text/x-gff"),
    (".gff", "text/x-gff"),
    (".gtf", "text/x-gff"),
    (".bgz", "application/gzip"),
    (".gz", "application/gzip"),
];

/// The type of anything nobody knows.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The content type for a file named `name` (a bare name or a `/`-separated path): the
/// genomics table, then `mime_guess`, then `application/octet-stream`.
pub fn content_type(name: &str) -> &'static str {
    genomics_type(name)
        .or_else(|| mime_guess::from_path(name).first_raw())
        .unwrap_or(OCTET_STREAM)
}

/// The type from the genomics table alone: `Some` for the formats this table knows better
/// than `mime_guess`.
pub fn genomics_type(name: &str) -> Option<&'static str> {
    GENOMICS
        .iter()
        .find(|(suffix, _)| ends_with_ignore_case(name, suffix))
        .map(|(_, ty)| *ty)
}

fn ends_with_ignore_case(name: &str, suffix: &str) -> bool {
    let (name, suffix) = (name.as_bytes(), suffix.as_bytes());
    name.len()
        .checked_sub(suffix.len())
        .and_then(|at| name.get(at..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genomics_formats() {
        let cases = [
            ("calls.vcf", "text/x-vcf"),
            ("calls.vcf.gz", "application/gzip"),
            ("calls.bcf", OCTET_STREAM),
            ("reads.bam", OCTET_STREAM),
            ("reads.bam.bai", OCTET_STREAM),
            ("reads.cram", OCTET_STREAM),
            ("reads.cram.crai", OCTET_STREAM),
            ("calls.vcf.gz.tbi", OCTET_STREAM),
            ("reads.fastq", "text/x-fastq"),
            ("reads.fastq.gz", "application/gzip"),
            ("reads.fq", "text/x-fastq"),
            ("reads.fq.gz", "application/gzip"),
            ("ref.fa", "text/x-fasta"),
            ("ref.fasta", "text/x-fasta"),
            ("ref.fa.fai", "text/tab-separated-values"),
            ("regions.bed", "text/x-bed"),
            ("genes.gff", "text/x-gff"),
            ("genes.gff3", "text/x-gff"),
            ("genes.gtf", "text/x-gff"),
            ("aln.sam", "text/x-sam"),
            ("x.bgz", "application/gzip"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn case_insensitive_and_paths() {
        assert_eq!(content_type("A.VCF"), "text/x-vcf");
        assert_eq!(content_type("Calls.Vcf.Gz"), "application/gzip");
        assert_eq!(content_type("raw/run1/R.FQ.GZ"), "application/gzip");
        assert_eq!(content_type("dir.vcf/notes.txt"), "text/plain");
    }

    #[test]
    fn mime_guess_and_fallback() {
        assert_eq!(content_type("a.json"), "application/json");
        assert_eq!(content_type("a.csv"), "text/csv");
        assert_eq!(content_type("archive.tar.gz"), "application/gzip");
        assert_eq!(content_type("noext"), OCTET_STREAM);
        assert_eq!(content_type(""), OCTET_STREAM);
        assert_eq!(content_type("weird.ünïcode"), OCTET_STREAM);
        // mime_guess alone would say vCard and RealVNC.
        assert_eq!(genomics_type("a.vcf"), Some("text/x-vcf"));
        assert_eq!(genomics_type("a.bed"), Some("text/x-bed"));
        assert_eq!(genomics_type("a.json"), None);
        // A suffix needs its dot: "sofa" is no FASTA.
        assert_eq!(genomics_type("sofa"), None);
    }

    /// Longest suffix first: no entry may be shadowed by an earlier one it ends with.
    #[test]
    fn no_entry_is_shadowed() {
        for (i, (later, _)) in GENOMICS.iter().enumerate() {
            for (earlier, _) in &GENOMICS[..i] {
                assert!(
                    !later.ends_with(earlier),
                    "{later} comes after {earlier}, which it ends with"
                );
            }
            assert_eq!(
                *later,
                later.to_ascii_lowercase(),
                "table entries are lower case"
            );
        }
    }
}
