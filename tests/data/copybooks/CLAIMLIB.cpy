      * CLAIMLIB - a claim record from a library (COPY ... OF/IN: the
      * folder SHARED of the copybook folder) and a REPLACE statement,
      * in force from here to REPLACE OFF (GnuCOBOL: cobc -I this folder).
       REPLACE ==AMOUNT-PIC== BY ==PIC S9(7)V99 COMP-3==
               ==CL-SPARE== BY ==CL-NOTE==.
       01  CLAIM-LIB-REC.
           05  CL-CLAIM-NO     PIC X(10).
           COPY LIBADDR OF SHARED REPLACING ==:PFX:== BY ==CL==.
           05  CL-AMOUNT       AMOUNT-PIC.
           COPY LIBPAID IN SHARED.
           05  CL-SPARE        PIC X(12).
       REPLACE OFF.
