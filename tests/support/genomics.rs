//! Genomics files for the preview tests, made here: VCF text with a realistic header,
//! BGZF and multi-member gzip, a BAM through noodles, FASTQ. Shared by the unit tests of
//! `src/preview` and the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::num::NonZeroUsize;

use noodles_sam::alignment::io::Write as _;
use noodles_sam::alignment::record::Flags;
use noodles_sam::alignment::record_buf::{QualityScores, RecordBuf, Sequence};
use noodles_sam::header::record::value::Map;
use noodles_sam::header::record::value::map::{Program, ReadGroup, ReferenceSequence};

/// A VCF whose header has `contigs` contig lines and `samples` samples, then `records`.
pub fn vcf(contigs: usize, samples: usize, records: usize) -> String {
    let mut s = String::from("##fileformat=VCFv4.3\n##source=filedeck-test\n");
    for i in 0..contigs {
        s.push_str(&format!(
            "##contig=<ID=chrUn_KI{i:06}v1,length={},assembly=GRCh38>\n",
            10_000 + i
        ));
    }
    for id in ["DP", "AF", "MQ"] {
        s.push_str(&format!(
            "##INFO=<ID={id},Number=1,Type=Integer,Description=\"{id}\">\n"
        ));
    }
    for id in ["GT", "GQ"] {
        s.push_str(&format!(
            "##FORMAT=<ID={id},Number=1,Type=String,Description=\"{id}\">\n"
        ));
    }
    s.push_str("##FILTER=<ID=PASS,Description=\"All filters passed\">\n");
    s.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for i in 0..samples {
        s.push_str(&format!("\tSAMPLE_{i:05}"));
    }
    s.push('\n');
    for r in 0..records {
        s.push_str(&format!(
            "chr1\t{}\trs{r}\tA\tG\t50\tPASS\tDP=10;AF=1;MQ=60\tGT:GQ",
            1000 + r
        ));
        for _ in 0..samples {
            s.push_str("\t0/1:30");
        }
        s.push('\n');
    }
    s
}

/// `data` as BGZF (noodles' writer: 64 KiB blocks, the EOF block at the end).
pub fn bgzf(data: &[u8]) -> Vec<u8> {
    let mut w = noodles_bgzf::io::Writer::new(Vec::new());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// Each part as its own gzip member, one after the other.
pub fn gzip_members(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(p).unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

/// FASTQ with `n` reads of growing lengths.
pub fn fastq(n: usize) -> String {
    (0..n)
        .map(|i| {
            let len = 50 + i;
            format!(
                "@read_{i} 1:N:0\n{}\n+\n{}\n",
                "ACGT".repeat(len).get(..len).unwrap(),
                "I".repeat(len)
            )
        })
        .collect()
}

/// A BAM of `refs` reference sequences, a read group and a program, and `records`
/// unmapped reads, made with noodles.
pub fn bam(refs: usize, records: usize) -> Vec<u8> {
    let mut builder = noodles_sam::Header::builder();
    for i in 0..refs {
        builder = builder.add_reference_sequence(
            format!("chr{}", i + 1),
            Map::<ReferenceSequence>::new(NonZeroUsize::new(1_000_000 + i).unwrap()),
        );
    }
    let header = builder
        .add_read_group("rg1", Map::<ReadGroup>::default())
        .add_program("filedeck-test", Map::<Program>::default())
        .build();
    let mut w = noodles_bam::io::Writer::new(Vec::new());
    w.write_header(&header).unwrap();
    for i in 0..records {
        let r = RecordBuf::builder()
            .set_name(format!("read_{i}"))
            .set_flags(Flags::UNMAPPED)
            .set_sequence(Sequence::from(b"ACGTACGTAC".to_vec()))
            .set_quality_scores(QualityScores::from(vec![30; 10]))
            .build();
        w.write_alignment_record(&header, &r).unwrap();
    }
    w.try_finish().unwrap();
    w.into_inner().finish().unwrap()
}
