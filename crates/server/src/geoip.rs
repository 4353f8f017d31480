//! GeoIP for threat protection: a MaxMind DB file (GeoLite2-City, GeoIP2-City, or any database
//! in their City or Country layout, such as DB-IP's) read once at start, and looked up for
//! each auth event's address.

use anyhow::{Context, Result};
use std::net::IpAddr;
use std::path::Path;
use tessera_engine::threat::{GeoLocate, Place};

pub struct GeoDatabase {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl GeoDatabase {
    /// Opens and checks a database: it must parse, and its type must be one that carries a
    /// country (City or Country layout).
    pub fn open(path: &Path) -> Result<Self> {
        let reader = maxminddb::Reader::open_readfile(path)
            .with_context(|| format!("open GeoIP database {}", path.display()))?;
        let kind = reader.metadata.database_type.to_ascii_lowercase();
        if !(kind.contains("city") || kind.contains("country")) {
            anyhow::bail!(
                "GeoIP database {} is of type {:?}: threat.geoip_database needs a City or Country database",
                path.display(),
                reader.metadata.database_type
            );
        }
        Ok(Self { reader })
    }

    pub fn database_type(&self) -> &str {
        &self.reader.metadata.database_type
    }
}

impl GeoLocate for GeoDatabase {
    fn locate(&self, ip: IpAddr) -> Option<Place> {
        let found = match self.reader.lookup(ip) {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "GeoIP lookup failed");
                return None;
            }
        };
        // The City layout is a superset of the Country layout: one decode serves both.
        let record = match found.decode::<maxminddb::geoip2::City>() {
            Ok(Some(record)) => record,
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!(error = %e, "GeoIP record unreadable");
                return None;
            }
        };
        let city = record.city.names.english.map(str::to_string);
        let country = record
            .country
            .names
            .english
            .or(record.country.iso_code)
            .map(str::to_string);
        (city.is_some() || country.is_some()).then_some(Place { city, country })
    }
}
