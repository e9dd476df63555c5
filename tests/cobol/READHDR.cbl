      *****************************************************************
      * READHDR - READS A FERRY CLAIMS FILE WHOSE HEADER CARRIES THE  *
      * CONTROL TOTALS (RECORD COUNT, AMOUNT TOTAL), AS A RECEIVING   *
      * JOB THAT CHECKS THE HEADER BEFORE TRUSTING THE DETAILS WOULD. *
      * THE DETAILS ARE COUNTED AND ADDED UP; THE HEADER AND THE      *
      * TRAILER MUST BOTH AGREE.  RETURN-CODE 0 OK, 8 MISMATCH.       *
      * COPYBOOK: CLAIMREC WITH HDR-RECORD-COUNT AND HDR-AMOUNT-TOTAL *
      * (TESTS/INTEGRATION/46_BATCH_HEADER_TOTALS.SH MAKES IT).       *
      *****************************************************************
       IDENTIFICATION DIVISION.
       PROGRAM-ID. READHDR.
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
       01  WS-HDR-COUNT              PIC 9(07) VALUE 0.
       01  WS-HDR-TOTAL              PIC S9(11)V99 COMP-3 VALUE 0.
       01  WS-SUM-ED                 PIC -9(11).99.
       01  WS-RC                     PIC 9 VALUE 0.
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
           IF WS-HDR-COUNT NOT = WS-COUNT
               DISPLAY 'HEADER COUNT ' WS-HDR-COUNT ' READ ' WS-COUNT
               MOVE 1 TO WS-RC
           END-IF
           IF WS-HDR-TOTAL NOT = WS-AMOUNT-SUM
               DISPLAY 'HEADER AMOUNT TOTAL DIFFERS'
               MOVE 1 TO WS-RC
           END-IF
           MOVE WS-AMOUNT-SUM TO WS-SUM-ED
           IF WS-RC = 0
               DISPLAY 'HEADER OK ' WS-COUNT ' '
                   FUNCTION TRIM(WS-SUM-ED)
           ELSE
               DISPLAY 'HEADER MISMATCH'
               MOVE 8 TO RETURN-CODE
           END-IF
           STOP RUN.
       ONE-RECORD.
           EVALUATE CLAIM-REC(1:1)
             WHEN 'H'
               MOVE CLAIM-REC TO CLAIM-HEADER
               MOVE HDR-RECORD-COUNT TO WS-HDR-COUNT
               MOVE HDR-AMOUNT-TOTAL TO WS-HDR-TOTAL
             WHEN 'D'
               MOVE CLAIM-REC TO CLAIM-DETAIL
               ADD 1 TO WS-COUNT
               ADD CLM-AMOUNT TO WS-AMOUNT-SUM
             WHEN 'T'
               MOVE CLAIM-REC TO CLAIM-TRAILER
               IF TRL-RECORD-COUNT NOT = WS-HDR-COUNT OR
                  TRL-AMOUNT-TOTAL NOT = WS-HDR-TOTAL
                   DISPLAY 'TRAILER AND HEADER DISAGREE'
                   MOVE 1 TO WS-RC
               END-IF
             WHEN OTHER
               DISPLAY 'UNKNOWN RECORD TYPE ' CLAIM-REC(1:1)
               MOVE 1 TO WS-RC
           END-EVALUATE.
