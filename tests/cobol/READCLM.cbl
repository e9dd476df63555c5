      *****************************************************************
      * READCLM - READS A FERRY CLAIMS FILE (RECFM=FB, LRECL=150) THE *
      * WAY THE MAINFRAME JOB WOULD, WITH THE CLAIMREC COPYBOOK.      *
      * PRINTS EACH DETAIL AS FIELD|FIELD|... AND CHECKS THE TRAILER  *
      * COUNT AND HASH TOTALS.  RETURN-CODE 0 OK, 8 MISMATCH.         *
      * USAGE: READCLM (FILE NAME IN ENV CLMFILE)                     *
      *****************************************************************
       IDENTIFICATION DIVISION.
       PROGRAM-ID. READCLM.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT CLAIM-FILE ASSIGN TO CLMFILE
               ORGANIZATION IS SEQUENTIAL
               FILE STATUS IS WS-STATUS.
       DATA DIVISION.
       FILE SECTION.
       FD  CLAIM-FILE
           RECORD CONTAINS 150 CHARACTERS.
       01  CLAIM-REC                 PIC X(150).
       WORKING-STORAGE SECTION.
       COPY CLAIMREC.
       01  WS-STATUS                 PIC XX.
       01  WS-EOF                    PIC X VALUE 'N'.
       01  WS-COUNT                  PIC 9(07) VALUE 0.
       01  WS-AMOUNT-SUM             PIC S9(11)V99 COMP-3 VALUE 0.
       01  WS-ACCOUNT-SUM            PIC 9(15) VALUE 0.
       01  WS-HEADERS                PIC 9(03) VALUE 0.
       01  WS-TRAILERS               PIC 9(03) VALUE 0.
       01  WS-RC                     PIC 9 VALUE 0.
       01  WS-AMT-ED                 PIC -9(7).99.
       01  WS-ITEM-ED                PIC -9(5).99.
       01  WS-SUM-ED                 PIC -9(11).99.
       01  WS-I                      PIC 9.
       PROCEDURE DIVISION.
       MAIN.
           OPEN INPUT CLAIM-FILE
           IF WS-STATUS NOT = '00'
               DISPLAY 'OPEN FAILED ' WS-STATUS
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           PERFORM UNTIL WS-EOF = 'Y'
               READ CLAIM-FILE
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM ONE-RECORD
               END-READ
           END-PERFORM
           CLOSE CLAIM-FILE
           IF WS-HEADERS NOT = 1 OR WS-TRAILERS NOT = 1
               DISPLAY 'HEADERS ' WS-HEADERS ' TRAILERS ' WS-TRAILERS
               MOVE 1 TO WS-RC
           END-IF
           IF WS-RC = 0
               DISPLAY 'TRAILER OK ' WS-COUNT
           ELSE
               DISPLAY 'TRAILER MISMATCH'
               MOVE 8 TO RETURN-CODE
           END-IF
           STOP RUN.
       ONE-RECORD.
           EVALUATE CLAIM-REC(1:1)
             WHEN 'H'
               MOVE CLAIM-REC TO CLAIM-HEADER
               ADD 1 TO WS-HEADERS
               DISPLAY 'HEADER|' HDR-FILE-DATE '|' HDR-BATCH-SEQ '|'
                       HDR-SYSTEM-ID
             WHEN 'D'
               MOVE CLAIM-REC TO CLAIM-DETAIL
               ADD 1 TO WS-COUNT
               ADD CLM-AMOUNT TO WS-AMOUNT-SUM
               ADD CLM-ACCOUNT-NO TO WS-ACCOUNT-SUM
               MOVE CLM-AMOUNT TO WS-AMT-ED
               DISPLAY 'D|' FUNCTION TRIM(CLM-FERRY-REF) '|'
                   FUNCTION TRIM(CLM-FORM-REF) '|' CLM-NINO '|'
                   FUNCTION TRIM(CLM-SURNAME) '|'
                   FUNCTION TRIM(CLM-FORENAME) '|' CLM-DOB '|'
                   FUNCTION TRIM(CLM-POSTCODE) '|' CLM-TYPE '|'
                   FUNCTION TRIM(WS-AMT-ED) '|' CLM-RECEIVED-DATE '|'
                   CLM-SORT-CODE '|' CLM-ACCOUNT-NO
                   WITH NO ADVANCING
               PERFORM VARYING WS-I FROM 1 BY 1 UNTIL WS-I > 3
                   MOVE CLM-ITEM-AMT(WS-I) TO WS-ITEM-ED
                   DISPLAY '|' FUNCTION TRIM(CLM-ITEM-CODE(WS-I)) ':'
                       FUNCTION TRIM(WS-ITEM-ED) WITH NO ADVANCING
               END-PERFORM
               DISPLAY ' '
             WHEN 'T'
               MOVE CLAIM-REC TO CLAIM-TRAILER
               ADD 1 TO WS-TRAILERS
               MOVE TRL-AMOUNT-TOTAL TO WS-SUM-ED
               DISPLAY 'TRAILER|' TRL-RECORD-COUNT '|'
                   FUNCTION TRIM(WS-SUM-ED) '|' TRL-ACCOUNT-HASH
               IF TRL-RECORD-COUNT NOT = WS-COUNT
                   DISPLAY 'COUNT ' TRL-RECORD-COUNT ' READ ' WS-COUNT
                   MOVE 1 TO WS-RC
               END-IF
               IF TRL-AMOUNT-TOTAL NOT = WS-AMOUNT-SUM
                   DISPLAY 'AMOUNT TOTAL DIFFERS'
                   MOVE 1 TO WS-RC
               END-IF
               IF TRL-ACCOUNT-HASH NOT = WS-ACCOUNT-SUM
                   DISPLAY 'ACCOUNT HASH DIFFERS'
                   MOVE 1 TO WS-RC
               END-IF
             WHEN OTHER
               DISPLAY 'UNKNOWN RECORD TYPE ' CLAIM-REC(1:1)
               MOVE 1 TO WS-RC
           END-EVALUATE.
