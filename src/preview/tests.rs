#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use super::*;

#[path = "../../tests/support/genomics.rs"]
mod genomics;

fn dec(bytes: &[u8], name: &str, whole: bool) -> Decoded {
    decode(Input { bytes, name, whole })
}

fn text(d: &Decoded) -> String {
    d.lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn problems(d: &Decoded) -> Vec<&str> {
    d.lines
        .iter()
        .filter(|l| l.role == Role::Problem)
        .map(|l| l.text.as_str())
        .collect()
}

#[test]
fn text_expands_tabs_cuts_long_lines_and_drops_a_cut_last_line() {
    let long = "x".repeat(MAX_LINE_CHARS + 10);
    let body = format!("a\tb\r\n{long}\nhalf a li");
    let d = dec(body.as_bytes(), "notes.txt", false);
    assert_eq!(d.format, "text");
    assert_eq!(d.lines[0].text, "a       b");
    assert!(
        d.lines[1].text.ends_with("⟩ +10 chars"),
        "{}",
        d.lines[1].text
    );
    assert_eq!(d.lines.len(), 2, "the cut last line is left out");
    assert!(d.wants_more);
    let whole = dec(body.as_bytes(), "notes.txt", true);
    assert_eq!(whole.lines.len(), 3);
    assert!(!whole.wants_more);
}

#[test]
fn terminal_escapes_in_contents_are_made_visible() {
    let d = dec(b"evil \x1b[2J\x1b]0;title\x07 text\n", "a.txt", true);
    assert!(!text(&d).contains('\x1b'));
    assert!(!text(&d).contains('\x07'));
}

#[test]
fn csv_and_tsv_are_aligned() {
    let d = dec(b"name,size\n\"a, b\",1\nlonger name,22\n", "t.csv", true);
    assert_eq!(d.format, "CSV");
    assert_eq!(d.lines[0].text, "name        │ size");
    assert_eq!(d.lines[1].text, "a, b        │ 1");
    assert_eq!(d.lines[0].role, Role::Heading);
    let t = dec(b"x\ty\n1\t2\n333\t4\n", "t.dat", true);
    assert_eq!(t.format, "TSV");
    assert_eq!(t.lines[2].text, "333 │ 4");
}

#[test]
fn multi_member_gzip_is_one_stream() {
    let gz = genomics::gzip_members(&[b"first line\n", b"second line\n"]);
    let d = dec(&gz, "x.txt.gz", true);
    assert_eq!(d.format, "text (gzip)");
    assert_eq!(text(&d), "first line\nsecond line");
}

#[test]
fn bgzf_vcf_summarises_its_header() {
    let vcf = genomics::vcf(3000, 2500, 5);
    let bgzf = genomics::bgzf(vcf.as_bytes());
    let d = dec(&bgzf, "cohort.vcf.gz", true);
    assert_eq!(d.format, "VCF (BGZF)");
    let t = text(&d);
    assert!(t.contains("File format  VCFv4.3"), "{t}");
    assert!(
        t.contains("Samples      2500: SAMPLE_00000, SAMPLE_00001"),
        "{t}"
    );
    assert!(t.contains("SAMPLE_00004, … (+2495)"), "{t}");
    assert!(t.contains("Contigs      3000"), "{t}");
    assert!(t.contains("INFO         3: DP, AF, MQ"), "{t}");
    assert!(t.contains("FORMAT       2: GT, GQ"), "{t}");
    assert!(t.contains("chr1  1000  rs0"), "{t}");
    assert!(t.contains("(+2497 samples)"), "{t}");
    assert!(problems(&d).is_empty());
    // A prefix that stops inside the header: lower bounds, no error.
    let cut = &bgzf[..20_000];
    let d = dec(cut, "cohort.vcf.gz", false);
    let t = text(&d);
    assert!(t.contains("Contigs      ≥ "), "{t}");
    assert!(t.contains("Samples      not known yet"), "{t}");
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
    assert!(d.wants_more);
}

#[test]
fn every_prefix_of_a_bgzf_vcf_decodes_without_a_problem() {
    let vcf = genomics::vcf(50, 4, 200);
    let bgzf = genomics::bgzf(vcf.as_bytes());
    for n in (0..bgzf.len()).step_by(97) {
        let d = dec(&bgzf[..n], "a.vcf.gz", false);
        assert!(problems(&d).is_empty(), "prefix {n}: {:?}", problems(&d));
    }
}

#[test]
fn a_truncated_or_corrupt_gzip_says_so() {
    let gz = genomics::gzip_members(&[genomics::vcf(10, 2, 50).as_bytes()]);
    let cut = &gz[..gz.len() / 2];
    let d = dec(cut, "a.vcf.gz", true);
    assert!(
        problems(&d).iter().any(|p| p.contains("truncated")),
        "{:?}",
        d.lines
    );
    let mut bad = gz.clone();
    for b in bad.iter_mut().skip(20).take(40) {
        *b ^= 0x5a;
    }
    let d = dec(&bad, "a.vcf.gz", false);
    assert!(
        problems(&d).iter().any(|p| p.contains("corrupt")),
        "{:?}",
        d.lines
    );
}

#[test]
fn fastq_gz_shows_reads_with_their_lengths() {
    let fq = genomics::fastq(5);
    let gz = genomics::gzip_members(&[fq.as_bytes()]);
    let d = dec(&gz, "r1.fastq.gz", true);
    assert_eq!(d.format, "FASTQ (gzip)");
    let t = text(&d);
    assert!(t.contains("@read_0 1:N:0  (50 bp)"), "{t}");
    assert!(t.contains("5 reads shown, lengths 50–54"), "{t}");
    // A prefix cutting a record: the complete ones, and a note.
    let d = dec(&fq.as_bytes()[..fq.len() - 30], "r1.fastq", false);
    assert!(text(&d).contains("4 reads shown"), "{}", text(&d));
}

#[test]
fn fasta_counts_sequence_lengths() {
    let d = dec(b">chr1 test\nACGT\nACGT\n>chr2\nAC", "g.fa", false);
    assert_eq!(d.format, "FASTA");
    let t = text(&d);
    assert!(t.contains(">chr1 test  (8 bp)"), "{t}");
    assert!(t.contains(">chr2  (≥ 0 bp)"), "{t}");
}

#[test]
fn binary_is_a_hex_dump_of_the_first_4_kib() {
    let bytes: Vec<u8> = (0..10_000u32)
        .map(|i| u8::try_from(i * 7 % 256).unwrap())
        .collect();
    let d = dec(&bytes, "blob.bin", false);
    assert_eq!(d.format, "binary");
    assert_eq!(d.lines.len(), HEX_BYTES / 16 + 1);
    assert!(d.lines[0].text.starts_with("00000000  00 07 0e 15"));
    assert!(!d.wants_more);
}

#[test]
fn bam_shows_its_header_and_first_records_as_sam() {
    let bam = genomics::bam(30, 20);
    let d = dec(&bam, "x.bam", true);
    assert_eq!(d.format, "BAM (BGZF)");
    let t = text(&d);
    assert!(t.contains("@SQ  30 reference sequences"), "{t}");
    assert!(t.contains("@SQ     SN:chr1 LN:1000000"), "{t}");
    assert!(t.contains("@RG  1 read groups"), "{t}");
    assert!(t.contains("@PG  1 programs"), "{t}");
    assert!(t.contains("read_0  4       *"), "{t}");
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
}

#[test]
fn every_prefix_of_a_bam_decodes_and_a_truncated_one_says_so() {
    let bam = genomics::bam(5, 200);
    for n in (0..bam.len()).step_by(37) {
        let d = dec(&bam[..n], "x.bam", false);
        assert!(problems(&d).is_empty(), "prefix {n}: {:?}", problems(&d));
    }
    let d = dec(&bam[..bam.len() * 2 / 3], "x.bam", true);
    assert!(!problems(&d).is_empty(), "{}", text(&d));
}

#[test]
fn bcf_and_cram_are_named_with_their_header() {
    let vcf = genomics::vcf(3, 2, 0);
    let mut raw = b"BCF\x02\x02".to_vec();
    let len = u32::try_from(vcf.len() + 1).unwrap();
    raw.extend(len.to_le_bytes());
    raw.extend(vcf.as_bytes());
    raw.push(0);
    raw.extend([1, 2, 3, 4]);
    let d = dec(&genomics::bgzf(&raw), "x.bcf", true);
    assert_eq!(d.format, "BCF (BGZF)");
    assert!(text(&d).contains("Contigs      3"), "{}", text(&d));
    let mut cram = b"CRAM\x03\x01".to_vec();
    cram.extend([0; 40]);
    cram.extend(b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:10\n\0");
    let d = dec(&cram, "x.cram", true);
    assert_eq!(d.format, "CRAM");
    assert!(
        text(&d).contains("@SQ  1 reference sequences"),
        "{}",
        text(&d)
    );
}

#[test]
fn a_bam_record_claiming_4_gib_is_the_end_of_what_was_read_not_an_allocation() {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(genomics::bam(3, 0).as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    raw.extend([0xFF, 0xFF, 0xFF, 0xFF]);
    raw.extend([0u8; 64]);
    let hostile = genomics::bgzf(&raw);
    let d = dec(&hostile, "x.bam", false);
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
    assert!(
        text(&d).contains("@SQ  3 reference sequences"),
        "{}",
        text(&d)
    );
    let d = dec(&hostile, "x.bam", true);
    assert!(
        problems(&d).iter().any(|p| p.contains("truncated")),
        "{}",
        text(&d)
    );
}

/// The count of a row's ` ⟩ +N columns` marker, and the cells drawn before it.
fn columns_left_out(line: &str) -> (usize, usize) {
    let (cells, marker) = line.rsplit_once(" ⟩ +").expect(line);
    let n = marker
        .strip_suffix(" columns")
        .or_else(|| marker.strip_suffix(" column"))
        .expect(marker);
    (cells.matches(" │ ").count() + 1, n.parse().unwrap())
}

#[test]
fn a_csv_line_of_millions_of_fields_draws_what_fits_and_counts_the_rest() {
    let fields = (2 << 20) + 1;
    let body = format!("a,b,c\n{}\n1,2,3\n", ",".repeat(fields - 1));
    let d = dec(body.as_bytes(), "t.csv", true);
    assert_eq!(d.format, "CSV");
    assert_eq!(d.lines.len(), 3);
    assert_eq!(d.lines[0].text, "a │ b │ c");
    assert_eq!(d.lines[2].text, "1 │ 2 │ 3");
    let long = &d.lines[1].text;
    // Cut by the columns, not by the line's length: its marker is in the text.
    assert!(long.chars().count() <= MAX_LINE_CHARS, "{long}");
    assert!(!long.contains("chars"), "{long}");
    let (drawn, left_out) = columns_left_out(long);
    assert_eq!(drawn + left_out, fields, "{long}");
    assert!(drawn > 100 && drawn < 700, "{drawn} cells drawn");
}

#[test]
fn a_tsv_or_quoted_csv_line_of_many_fields_ends_with_the_count_left_out() {
    let fields = 1 << 20;
    let body = format!("x\ty\n{}\n", vec!["7"; fields].join("\t"));
    let d = dec(body.as_bytes(), "t.tsv", true);
    assert_eq!(d.format, "TSV");
    let long = &d.lines[1].text;
    assert!(long.starts_with("7 │ 7 │ 7"), "{long}");
    assert!(long.chars().count() <= MAX_LINE_CHARS);
    let (drawn, left_out) = columns_left_out(long);
    assert_eq!(drawn + left_out, fields);
    // Quotes hold separators, also past the fields drawn.
    let body = format!("h\n{}\n", vec!["\"a,\"\"b\""; fields].join(","));
    let d = dec(body.as_bytes(), "q.csv", true);
    let long = &d.lines[1].text;
    assert!(long.starts_with("a,\"b │ a,\"b │ "), "{long}");
    let (drawn, left_out) = columns_left_out(long);
    assert_eq!(drawn + left_out, fields);
}

#[test]
fn a_csv_cell_of_megabytes_is_cut_at_its_head() {
    let body = format!("h,i\n\"{}\",2\n", "x,".repeat(3 << 20));
    let d = dec(body.as_bytes(), "t.csv", true);
    let cell = format!("{}…", "x,".repeat(19) + "x");
    assert_eq!(d.lines[1].text, format!("{cell} │ 2"));
    assert_eq!(d.lines[0].text, format!("h{} │ i", " ".repeat(39)));
    // Zero-width characters: cut after a bounded count however narrow.
    let body = format!("h,i\na{},2\n", "\u{301}".repeat(1000));
    let d = dec(body.as_bytes(), "t.csv", true);
    assert!(d.lines[1].text.chars().count() < 100, "{}", d.lines[1].text);
    assert!(d.lines[1].text.contains("…"), "{}", d.lines[1].text);
}

/// An assembly's VCF: more `##contig` lines than the lines a preview keeps.
fn long_header_checks(d: &Decoded) {
    let t = text(d);
    assert!(t.contains("Contigs      30000"), "{t}");
    assert!(
        t.contains("Samples      4: SAMPLE_00000, SAMPLE_00001, SAMPLE_00002, SAMPLE_00003"),
        "{t}"
    );
    assert!(t.contains("INFO         3: DP, AF, MQ"), "{t}");
    assert!(t.contains("FORMAT       2: GT, GQ"), "{t}");
    assert!(
        t.contains("Other        1 FILTER, 1 other header lines"),
        "{t}"
    );
    assert!(t.contains("chr1  1000  rs0  A  G"), "{t}");
    assert!(t.contains("chr1  1049  rs49"), "{t}");
    assert!(!t.contains('≥'), "{t}");
    assert!(problems(d).is_empty(), "{:?}", problems(d));
}

#[test]
fn a_vcf_header_longer_than_the_lines_kept_is_read_to_its_chrom_line() {
    let vcf = genomics::vcf(30_000, 4, 50);
    let d = dec(vcf.as_bytes(), "asm.vcf", true);
    assert_eq!(d.format, "VCF");
    long_header_checks(&d);
    let d = dec(&genomics::bgzf(vcf.as_bytes()), "asm.vcf.gz", true);
    assert_eq!(d.format, "VCF (BGZF)");
    long_header_checks(&d);
    // Cut by the cap after 25,000 contigs: lower bounds past the lines kept, no problem.
    let at = vcf.find("##contig=<ID=chrUn_KI025000").unwrap();
    let d = dec(&vcf.as_bytes()[..at + 10], "asm.vcf", false);
    let t = text(&d);
    assert!(t.contains("Contigs      ≥ 25000"), "{t}");
    assert!(t.contains("Samples      not known yet"), "{t}");
    assert!(t.contains("counts are lower bounds"), "{t}");
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
    assert!(d.wants_more);
}

#[test]
fn a_gzip_vcf_header_cut_by_the_decompression_limit_shows_lower_bounds() {
    let header: String = (0..400_000)
        .map(|i| format!("##contig=<ID=scaffold_{i:07},length=1000>\n"))
        .collect();
    let vcf = format!("##fileformat=VCFv4.2\n{header}#CHROM\tPOS\n");
    assert!(vcf.len() > MAX_INFLATED);
    let d = dec(&genomics::gzip_members(&[vcf.as_bytes()]), "a.vcf.gz", true);
    let t = text(&d);
    let contigs = (MAX_INFLATED - 21) / (header.lines().next().unwrap().len() + 1);
    assert!(t.contains(&format!("Contigs      ≥ {contigs}")), "{t}");
    assert!(t.contains("the first 16 MiB of decompressed data"), "{t}");
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
}

#[test]
fn a_cut_marker_without_its_count_is_the_same_for_any_count() {
    let long = "x".repeat(MAX_LINE_CHARS + 10);
    let longer = "x".repeat(MAX_LINE_CHARS + 10_000);
    let a = dec(long.as_bytes(), "a.txt", true);
    let b = dec(longer.as_bytes(), "a.txt", true);
    assert_ne!(a.lines[0].text, b.lines[0].text);
    assert_eq!(
        without_cut_count(&a.lines[0].text),
        without_cut_count(&b.lines[0].text)
    );
    assert!(without_cut_count(&a.lines[0].text).ends_with(" ⟩ +"));
    // Lines without a marker, or with text that only looks like the end of one, stay.
    for s in ["plain", " ⟩ + chars", "a ⟩ +1x chars", "a ⟩ +12 char"] {
        assert_eq!(without_cut_count(s), s);
    }
    // A short line whose own text ends like a marker is still a line: stripping it the
    // same in both ranges keeps the comparison right.
    assert_eq!(without_cut_count("a ⟩ +3 chars"), "a ⟩ +");
}

#[test]
fn a_character_cut_by_the_end_of_a_prefix_is_dropped_and_damage_is_replaced() {
    // "é" is C3 A9: a prefix of one line ending between them.
    let d = dec(b"caf\xc3", "a.txt", false);
    assert_eq!(d.lines[0].text, "caf");
    // In a whole file that same cut is damage.
    let d = dec(b"caf\xc3", "a.txt", true);
    assert_eq!(d.lines[0].text, "caf\u{fffd}");
    // A 4-byte character cut after 3 of its bytes.
    let d = dec("ok 🧬".as_bytes().split_last().unwrap().1, "a.txt", false);
    assert_eq!(d.lines[0].text, "ok ");
    // Invalid bytes in the middle are each shown where they are, the rest kept.
    let mut bytes = "x\n".repeat(5000).into_bytes();
    bytes.extend_from_slice(b"a\xffb\xe9c\n");
    bytes.extend_from_slice(b"after\n");
    let d = dec(&bytes, "a.txt", false);
    assert_eq!(d.lines[5000].text, "a\u{fffd}b\u{fffd}c");
    assert_eq!(d.lines[5001].text, "after");
}
