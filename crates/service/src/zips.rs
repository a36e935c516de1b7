//! US ZIP code reference data. Both services keep their own copy in identical
//! `zip_codes` tables (neither reads the other's database), and each loads it itself
//! with its `load-zips` subcommand ([`LoadZipsArgs`]), which migrates the database
//! first; no other process writes into a service's tables. The one query here is
//! checked at compile time against the orders schema (the movies table is the same).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// One row of the reference data.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipCodeRecord {
    pub zip: String,
    pub city: String,
    pub state: String,
    pub county: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// Every US ZIP code (about 41,000; see `data/README.md` for origin and licence),
/// gzipped into the binary: no download at run time.
const US_ZIP_CODES: &[u8] = include_bytes!("../../../data/us-zip-codes.tsv.gz");

/// The arguments of a service's `load-zips` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadZipsArgs {
    /// A tab-separated file (gzipped if its name ends in .gz) with a header line and
    /// the columns zip, city, state, county, latitude, longitude. Without it, the US
    /// list built into the binary.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

impl LoadZipsArgs {
    /// The records to load.
    pub fn records(&self) -> anyhow::Result<Vec<ZipCodeRecord>> {
        match &self.file {
            Some(path) => read_file(path),
            None => us_zip_codes(),
        }
    }

    /// The subcommand: loads the records into the service's (migrated) database.
    pub async fn load_into(&self, pool: &sqlx::PgPool) -> anyhow::Result<()> {
        let records = self.records()?;
        let added = load(pool, &records)
            .await
            .context("cannot load the ZIP codes")?;
        tracing::info!(added, of = records.len(), "ZIP codes loaded");
        Ok(())
    }
}

/// Adds the records whose ZIP is not there yet into a service's `zip_codes` table
/// (rows already present are kept as they are) and refreshes the table's statistics.
/// Returns how many were added.
pub async fn load(pool: &sqlx::PgPool, records: &[ZipCodeRecord]) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    // Chunks keep each statement's arrays a reasonable size.
    for chunk in records.chunks(5000) {
        let column = |f: fn(&ZipCodeRecord) -> &str| -> Vec<&str> { chunk.iter().map(f).collect() };
        added += sqlx::query!(
            "INSERT INTO zip_codes (zip, city, state, county, latitude, longitude)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                  $5::float8[], $6::float8[])
             ON CONFLICT (zip) DO NOTHING",
            &column(|r| &r.zip) as &[&str],
            &column(|r| &r.city) as &[&str],
            &column(|r| &r.state) as &[&str],
            &column(|r| &r.county) as &[&str],
            &chunk.iter().map(|r| r.latitude).collect::<Vec<_>>(),
            &chunk.iter().map(|r| r.longitude).collect::<Vec<_>>(),
        )
        .execute(pool)
        .await?
        .rows_affected();
    }
    // A bulk load leaves the planner's statistics stale. ANALYZE cannot be prepared,
    // so it is sent as plain text.
    sqlx::raw_sql("ANALYZE zip_codes").execute(pool).await?;
    Ok(added)
}

/// The US list built into the binary.
pub fn us_zip_codes() -> anyhow::Result<Vec<ZipCodeRecord>> {
    read_tsv(flate2::read::GzDecoder::new(US_ZIP_CODES)).context("the built-in ZIP code list")
}

fn read_file(path: &Path) -> anyhow::Result<Vec<ZipCodeRecord>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open ZIP code file {}", path.display()))?;
    let records = if path.extension().is_some_and(|e| e == "gz") {
        read_tsv(flate2::read::GzDecoder::new(file))
    } else {
        read_tsv(file)
    };
    records.with_context(|| format!("ZIP code file {}", path.display()))
}

/// Reads the tab-separated form; the first line is a header.
pub fn read_tsv(reader: impl Read) -> anyhow::Result<Vec<ZipCodeRecord>> {
    let mut records = Vec::with_capacity(41_000);
    for (n, line) in BufReader::new(reader).lines().enumerate().skip(1) {
        let line = line?;
        let at = || format!("line {}", n + 1);
        let fields: Vec<&str> = line.split('\t').collect();
        let [zip, city, state, county, lat, lon] = fields[..] else {
            anyhow::bail!("{} has {} fields, not 6", at(), fields.len());
        };
        let zip_ok = zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit());
        let state_ok = state.len() == 2 && state.bytes().all(|b| b.is_ascii_uppercase());
        anyhow::ensure!(zip_ok, "{}: ZIP code {zip:?} is not five digits", at());
        anyhow::ensure!(state_ok, "{}: state {state:?} is not a USPS code", at());
        records.push(ZipCodeRecord {
            zip: zip.into(),
            city: city.into(),
            state: state.into(),
            county: county.into(),
            latitude: lat.parse().with_context(at)?,
            longitude: lon.parse().with_context(at)?,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_list_has_every_us_zip_code() {
        let records = us_zip_codes().expect("the built-in list reads");
        assert_eq!(records.len(), 40_979);
        let cambridge = records.iter().find(|r| r.zip == "02139").expect("02139");
        assert_eq!(
            (cambridge.city.as_str(), cambridge.state.as_str()),
            ("Cambridge", "MA")
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        let tsv = "zip\tcity\tstate\tcounty\tlat\tlon\n02139\tCambridge\tMA\tMiddlesex\t42.36\t-71.10\n2139\tX\tMA\tY\t1\t2\n";
        let error = read_tsv(tsv.as_bytes()).expect_err("a four-digit ZIP");
        assert!(error.to_string().contains("line 3"), "{error}");
        let short = "header\n02139\tCambridge\n";
        let error = read_tsv(short.as_bytes()).expect_err("two fields");
        assert!(error.to_string().contains("2 fields"), "{error}");
    }
}
