#!/usr/bin/env python3
"""Writes a bulk-enrollment file of N new workers for Kabupaten Tangerang (36.03), and the same
rows as PostgreSQL COPY text for the bare-load baseline (worker rows with ids from --first-id).

NIKs encode births in 2005-2007, outside the seed's 1960-2004, so they never collide with a
seeded database. Usage:
  enrollment-file.py csv N DISTRICTS_FILE > enrollments.csv
  enrollment-file.py tsv N DISTRICTS_FILE FIRST_ID OUT_DIR    (worker.tsv, coverage.tsv)
"""
import datetime
import os
import sys

FIRST_NAMES = ["Budi", "Siti", "Agus", "Dewi", "Eko", "Sri", "Joko", "Rina", "Ahmad", "Nur"]
LAST_NAMES = ["Santoso", "Aminah", "Saputra", "Lestari", "Hidayat", "Wahyuni", "Pratama", "Rahayu"]
OCCUPATIONS = ["FISHER", "FARMER", "STREET_VENDOR", "MOTORCYCLE_TAXI", "FARM_LABORER", "OTHER"]
BORN_FROM = datetime.date(2005, 1, 1)
DAYS = 3 * 365


def people(n, districts):
    for i in range(n):
        district = districts[i % len(districts)]
        rest = i // len(districts)
        birth = BORN_FROM + datetime.timedelta(days=rest % DAYS)
        female = (rest // DAYS) % 2 == 1
        serial = 1 + rest // (DAYS * 2)
        day = birth.day + (40 if female else 0)
        nik = f"{district.replace('.', '')}{day:02}{birth.month:02}{birth.year % 100:02}{serial:04}"
        name = f"{FIRST_NAMES[i % 10]} {LAST_NAMES[(i // 10) % 8]}"
        yield nik, name, "FEMALE" if female else "MALE", birth, OCCUPATIONS[i % 6], district


def main():
    mode, n, districts_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    districts = [line.strip() for line in open(districts_file) if line.strip()]
    out = sys.stdout
    if mode == "csv":
        out.write("nik,full_name,occupation,district_code,starts_on,ends_on,funding_source,programs,declared_monthly_income,membership_number\n")
        for nik, name, _, _, occupation, district in people(n, districts):
            out.write(f"{nik},{name},{occupation},{district},2026-01-01,2026-12-31,APBD,JKK|JKM,1000000,\n")
        return
    first_id, folder = int(sys.argv[4]), sys.argv[5]
    now = "2026-11-25 00:00:00+00"
    with open(os.path.join(folder, "worker.tsv"), "w") as workers, open(os.path.join(folder, "coverage.tsv"), "w") as coverage:
        for k, (nik, name, gender, birth, occupation, district) in enumerate(people(n, districts)):
            worker_id = first_id + k
            workers.write(f"{worker_id}\t{nik}\t{name}\t{gender}\t{birth}\t{occupation}\t36.03\t{district}\tALIVE\t\\N\t\\N\t{now}\t{now}\n")
            coverage.write(f"{worker_id}\t36.03\tAPBD\tJKK,JKM\t1000000\t16800\t2026-01-01\t2026-12-31\t\\N\t{now}\n")


main()
