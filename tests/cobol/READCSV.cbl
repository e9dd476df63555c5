      *****************************************************************
      * READCSV - READS A FERRY DELIMITED CLAIMS FILE THE WAY A BACK  *
      * OFFICE JOB WOULD: LINE SEQUENTIAL, ONE UNSTRING PER LINE      *
      * (DELIMITER '|', NO QUOTING).  LINE 1 IS THE COLUMN NAMES, THE *
      * LAST LINE THE TRAILER 'T|COUNT|AMOUNT-TOTAL'.  PRINTS EACH    *
      * DETAIL AS D|FIELD|... AND CHECKS THE TRAILER'S COUNT AND      *
      * TOTAL AGAINST THE DETAILS.  RETURN-CODE 0 OK, 8 MISMATCH.     *
      * USAGE: READCSV (FILE NAME IN ENV CSVFILE)                     *
      *****************************************************************
       IDENTIFICATION DIVISION.
       PROGRAM-ID. READCSV.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT CSV-FILE ASSIGN TO CSVFILE
               ORGANIZATION IS LINE SEQUENTIAL
               FILE STATUS IS WS-STATUS.
       DATA DIVISION.
       FILE SECTION.
       FD  CSV-FILE.
       01  CSV-LINE                  PIC X(400).
       WORKING-STORAGE SECTION.
       01  WS-STATUS                 PIC XX.
       01  WS-EOF                    PIC X VALUE 'N'.
       01  WS-LINES                  PIC 9(07) VALUE 0.
       01  WS-COUNT                  PIC 9(07) VALUE 0.
       01  WS-TRAILERS               PIC 9(03) VALUE 0.
       01  WS-SUM                    PIC S9(11)V99 VALUE 0.
       01  WS-TRL-COUNT              PIC 9(07) VALUE 0.
       01  WS-TRL-SUM                PIC S9(11)V99 VALUE 0.
       01  WS-SUM-ED                 PIC -9(11).99.
       01  WS-NFIELDS                PIC 99.
       01  WS-RC                     PIC 9 VALUE 0.
       01  WS-F.
           05  F-REF                 PIC X(30).
           05  F-FORM-REF            PIC X(20).
           05  F-NINO                PIC X(9).
           05  F-SURNAME             PIC X(30).
           05  F-FORENAME            PIC X(30).
           05  F-DOB                 PIC X(8).
           05  F-POSTCODE            PIC X(8).
           05  F-TYPE                PIC X(2).
           05  F-AMOUNT              PIC X(12).
           05  F-RECEIVED            PIC X(8).
           05  F-SORT-CODE           PIC X(6).
           05  F-ACCOUNT-NO          PIC X(8).
       PROCEDURE DIVISION.
       MAIN.
           OPEN INPUT CSV-FILE
           IF WS-STATUS NOT = '00'
               DISPLAY 'OPEN FAILED ' WS-STATUS
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           PERFORM UNTIL WS-EOF = 'Y'
               READ CSV-FILE
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM ONE-LINE
               END-READ
           END-PERFORM
           CLOSE CSV-FILE
           IF WS-TRAILERS NOT = 1
               DISPLAY 'TRAILERS ' WS-TRAILERS
               MOVE 1 TO WS-RC
           END-IF
           IF WS-TRL-COUNT NOT = WS-COUNT OR WS-TRL-SUM NOT = WS-SUM
               MOVE 1 TO WS-RC
           END-IF
           MOVE WS-SUM TO WS-SUM-ED
           IF WS-RC = 0
               DISPLAY 'TRAILER OK ' WS-COUNT ' '
                       FUNCTION TRIM(WS-SUM-ED)
           ELSE
               DISPLAY 'TRAILER MISMATCH ' WS-TRL-COUNT ' ' WS-COUNT
               MOVE 8 TO RETURN-CODE
           END-IF
           STOP RUN.
       ONE-LINE.
           ADD 1 TO WS-LINES
           MOVE SPACES TO WS-F
           MOVE 0 TO WS-NFIELDS
           UNSTRING CSV-LINE DELIMITED BY '|'
               INTO F-REF F-FORM-REF F-NINO F-SURNAME F-FORENAME F-DOB
                    F-POSTCODE F-TYPE F-AMOUNT F-RECEIVED F-SORT-CODE
                    F-ACCOUNT-NO
               TALLYING IN WS-NFIELDS
           END-UNSTRING
           EVALUATE TRUE
             WHEN WS-LINES = 1
               IF F-REF NOT = 'reference' OR F-ACCOUNT-NO NOT =
                  'account_'
                   DISPLAY 'BAD HEADER LINE'
                   MOVE 1 TO WS-RC
               END-IF
             WHEN F-REF = 'T'
               ADD 1 TO WS-TRAILERS
               MOVE FUNCTION NUMVAL(F-FORM-REF) TO WS-TRL-COUNT
               MOVE FUNCTION NUMVAL(F-NINO) TO WS-TRL-SUM
             WHEN OTHER
               IF WS-NFIELDS NOT = 12
                   DISPLAY 'LINE ' WS-LINES ' HAS ' WS-NFIELDS ' FIELDS'
                   MOVE 1 TO WS-RC
               END-IF
               ADD 1 TO WS-COUNT
               ADD FUNCTION NUMVAL(F-AMOUNT) TO WS-SUM
               DISPLAY 'D|' FUNCTION TRIM(F-REF) '|'
                   FUNCTION TRIM(F-FORM-REF) '|' F-NINO '|'
                   FUNCTION TRIM(F-SURNAME) '|'
                   FUNCTION TRIM(F-FORENAME) '|' F-DOB '|'
                   FUNCTION TRIM(F-POSTCODE) '|' F-TYPE '|'
                   FUNCTION TRIM(F-AMOUNT) '|' F-RECEIVED '|'
                   F-SORT-CODE '|' F-ACCOUNT-NO
           END-EVALUATE.
