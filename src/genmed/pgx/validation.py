"""Expected calls for the PharmCAT haplotype test VCFs (file names encode the diplotype), shared by tests and
`genmed bench pgx`."""

# (file, expected top calls or a set the top calls must contain, mode). Names in today's nomenclature: the test
# VCFs predate CYP2C19 *38 (reference) and the merge of *4A/*4B, *60, *5 (CYP3A5).
EXACT = [
    ("CYP2B6/s1s1.vcf", "CYP2B6", {"*1/*1"}), ("CYP2B6/s1s34.vcf", "CYP2B6", {"*1/*34"}),
    ("IFNL3/rs12979860CC.vcf", "IFNL3", {"rs12979860 reference (C)/rs12979860 reference (C)"}),
    ("IFNL3/rs12979860TT.vcf", "IFNL3", {"rs12979860 variant (T)/rs12979860 variant (T)"}),
    ("NUDT15/s2ref.vcf", "NUDT15", {"*1/*2"}), ("NUDT15/s3ref.vcf", "NUDT15", {"*1/*3"}),
    ("SLCO1B1/s1s15.vcf", "SLCO1B1", {"*1/*15"}), ("SLCO1B1/s5s15.vcf", "SLCO1B1", {"*5/*15"}),
    ("SLCO1B1/s1s44.vcf", "SLCO1B1", {"*1/*44"}), ("SLCO1B1/SLCO1B1_s1_s14_t1.vcf", "SLCO1B1", {"*1/*14"}),
    ("SLCO1B1/SLCO1B1_s1_s15_t1.vcf", "SLCO1B1", {"*1/*15"}),
    ("SLCO1B1/s1as15s1bs5missing.vcf", "SLCO1B1", {"*1/*15"}),
    ("TPMT/s1s1.vcf", "TPMT", {"*1/*1"}), ("TPMT/s1s1s.vcf", "TPMT", {"*1/*1"}),
    ("TPMT/hom1s_het3a.vcf", "TPMT", {"*1/*3A"}), ("TPMT/s3as3b.vcf", "TPMT", {"*3A/*3B"}),
    ("UGT1A1/s6s6.vcf", "UGT1A1", {"*6/*6"}), ("UGT1A1/s1s28s60s80unphased.vcf", "UGT1A1", {"*1/*80+*28"}),
    ("UGT1A1/s1s37s80s60phased.vcf", "UGT1A1", {"*1/*80+*37"}),
    ("UGT1A1/s28s80s6s60phased.vcf", "UGT1A1", {"*6/*80+*28"}),
    ("UGT1A1/s28s80s6s60unphased.vcf", "UGT1A1", {"*6/*80+*28"}),
    ("VKORC1/-1639A-1639A.vcf", "VKORC1", {"rs9923231 variant (T)/rs9923231 variant (T)"}),
    ("VKORC1/-1639G-1639G.vcf", "VKORC1", {"rs9923231 reference (C)/rs9923231 reference (C)"}),
    ("cyp2c19/s1s2.vcf", "CYP2C19", {"*1/*2"}), ("cyp2c19/s2s2.vcf", "CYP2C19", {"*2/*2"}),
    ("cyp2c19/s2s3.vcf", "CYP2C19", {"*2/*3"}), ("cyp2c19/s4bs17.vcf", "CYP2C19", {"*4/*17"}),
    ("cyp2c19/s1s4b.vcf", "CYP2C19", {"*1/*4"}), ("cyp2c19/rs12769205missingrs4244285het.vcf", "CYP2C19", {"*1/*2"}),
    ("cyp2c9/s2s3.vcf", "CYP2C9", {"*2/*3"}), ("cyp2c9/s24s24.vcf", "CYP2C9", {"*24/*24"}),
    ("cyp2c9/s2s24.vcf", "CYP2C9", {"*2/*24"}), ("cyp2c9/s1s61.vcf", "CYP2C9", {"*1/*61"}),
    ("cyp3a5/s1s7.vcf", "CYP3A5", {"*1/*7"}), ("cyp3a5/s3s9.vcf", "CYP3A5", {"*3/*9"}),
    ("cyp4f2/s1s1.vcf", "CYP4F2", {"*1/*1"}),
]
# Unphased, several equally good explanations: the named pair must be among the top calls.
CONTAINS = [
    ("SLCO1B1/SLCO1B1_s14_s19_t1.vcf", "SLCO1B1", "*14/*19"), ("SLCO1B1/SLCO1B1_s37_s40_t1.vcf", "SLCO1B1", "*37/*40"),
    ("SLCO1B1/SLCO1B1_s5_s14_t1.vcf", "SLCO1B1", "*5/*14"), ("cyp2c19/s15s28.vcf", "CYP2C19", "*15/*28"),
    ("cyp2c19/s1s17.vcf", "CYP2C19", "*1/*17"), ("cyp2c19/s1s35.vcf", "CYP2C19", "*1/*35"),
]
