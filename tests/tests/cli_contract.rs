//! The command-line client's contract belongs to the repository
//! (`docs/cli.md`); where the shared reference copy it was taken from is
//! checked out beside the repository (`../shared/cli-contract.md`), the two
//! must be identical. Only the checkout is guaranteed, so a missing
//! reference is a note, not a failure.

use std::path::Path;

#[test]
fn docs_cli_md_is_the_shared_contract_byte_for_byte() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ours_path = repo.join("docs/cli.md");
    let ours = std::fs::read(&ours_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", ours_path.display()));
    let reference_path = repo.join("../shared/cli-contract.md");
    let reference = match std::fs::read(&reference_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "note: {} is not there (only the checkout is guaranteed): \
                 docs/cli.md not compared with the shared reference",
                reference_path.display()
            );
            return;
        }
        Err(e) => panic!("cannot read {}: {e}", reference_path.display()),
    };
    if ours != reference {
        let first_difference = ours
            .iter()
            .zip(&reference)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(reference.len()));
        let line = 1 + ours[..first_difference]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        panic!(
            "docs/cli.md differs from {} (first at byte {first_difference}, line {line}; \
             {} vs {} bytes): the shared file is the reference, copy it",
            reference_path.display(),
            ours.len(),
            reference.len()
        );
    }
}
