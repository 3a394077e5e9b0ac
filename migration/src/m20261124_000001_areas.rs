//! Kemendagri reference areas (provinces, regencies/cities, districts), loaded from the ODbL CSVs
//! in `migration/wilayah/`. Every deployment needs them, so they live in a migration, not a seed.
use sea_orm_migration::{prelude::*, schema::*};

const PROVINCES: &str = include_str!("../wilayah/provinces.csv");
const REGENCIES: &str = include_str!("../wilayah/regencies.csv");
const DISTRICTS: &str = include_str!("../wilayah/districts.csv");

/// Rows per INSERT: keeps bind parameters far below SQLite's and PostgreSQL's limits.
const CHUNK: usize = 500;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("province")
                    .col(string_len("code", 2).primary_key())
                    .col(string("name"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("regency")
                    .col(string_len("code", 5).primary_key())
                    .col(string_len("province_code", 2))
                    .col(string("name"))
                    .col(string_len("kind", 16))
                    .foreign_key(ForeignKey::create().from("regency", "province_code").to("province", "code"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("district")
                    .col(string_len("code", 8).primary_key())
                    .col(string_len("regency_code", 5))
                    .col(string("name"))
                    .foreign_key(ForeignKey::create().from("district", "regency_code").to("regency", "code"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_regency_province").table("regency").col("province_code").to_owned())
            .await?;
        manager
            .create_index(Index::create().name("idx_district_regency").table("district").col("regency_code").to_owned())
            .await?;

        insert_rows(manager, "province", &["code", "name"], parse(PROVINCES, 2)?).await?;
        let regencies = parse(REGENCIES, 3)?
            .into_iter()
            .map(|r| {
                let kind = regency_kind(&r[0]).to_owned();
                vec![r[0].clone(), r[1].clone(), r[2].clone(), kind]
            })
            .collect();
        insert_rows(manager, "regency", &["code", "province_code", "name", "kind"], regencies).await?;
        insert_rows(manager, "district", &["code", "regency_code", "name"], parse(DISTRICTS, 3)?).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["district", "regency", "province"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

/// Regency part 01-69 is a KABUPATEN, 71-99 a KOTA (Kemendagri numbering).
fn regency_kind(code: &str) -> &'static str {
    match code.get(3..5).and_then(|n| n.parse::<u8>().ok()) {
        Some(n) if n >= 70 => "KOTA",
        _ => "KABUPATEN",
    }
}

fn parse(csv_text: &str, columns: usize) -> Result<Vec<Vec<String>>, DbErr> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| DbErr::Migration(format!("wilayah csv: {e}")))?;
            if record.len() != columns {
                return Err(DbErr::Migration(format!("wilayah csv: bad row {record:?}")));
            }
            Ok(record.iter().map(str::to_owned).collect())
        })
        .collect()
}

async fn insert_rows(
    manager: &SchemaManager<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new(table)).columns(columns.iter().map(|c| Alias::new(*c)));
        for row in chunk {
            insert.values_panic(row.iter().map(|v| v.as_str().into()));
        }
        manager.exec_stmt(insert).await?;
    }
    Ok(())
}
